"""The query side of the offline encoder: a residual map from e5 query vectors to picture queries.

The alignment head moves pictures into e5's text space; e5 itself was never told about
pictures, so a query vector is reshaped a little before it meets them: q' = normalise(q + f(q)),
with f linear or a small MLP, optionally one per query language. Trained by
`tools/text_adapter.py` against the frozen head. Only picture retrieval uses it: documents
are matched with the plain query vector (they live in e5's own space), and so are tag names
(their thresholds were calibrated on plain vectors).

Run time is numpy (two small matrix products); torch is needed only to train.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from assetloom.models.base import l2_normalise

ADAPTER_FILE = "query_adapter.npz"


def default_adapter_path() -> Path:
    return Path(str(resources.files("assetloom.models") / "weights" / ADAPTER_FILE))


class NumpyQueryAdapter:
    """Loaded from the .npz `save_adapter` writes; applies the map per language."""

    def __init__(self, path: Path) -> None:
        with np.load(path) as data:
            self.config: dict[str, Any] = json.loads(str(data["config"]))
            self._weights = {k: data[k].astype(np.float32) for k in data.files if k != "config"}
        self.langs: tuple[str, ...] = tuple(self.config["langs"])

    def _key(self, lang: str) -> str:
        return lang if lang in self.langs else self.langs[0]

    def __call__(self, queries: np.ndarray, lang: str) -> np.ndarray:
        q = np.asarray(queries, dtype=np.float32).reshape(-1, queries.shape[-1])
        key, w = self._key(lang), self._weights
        if self.config["hidden"]:
            h = q @ w[f"{key}.w1"].T + w[f"{key}.b1"]
            h = 0.5 * h * (1.0 + _erf(h / np.sqrt(2.0)))  # GELU, as torch's default
            delta = h @ w[f"{key}.w2"].T + w[f"{key}.b2"]
        else:
            delta = q @ w[f"{key}.w"].T + w[f"{key}.b"]
        return l2_normalise(q + delta).reshape(queries.shape)


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return erf(x).astype(np.float32)


def load_adapter(path: Path | None = None) -> NumpyQueryAdapter | None:
    """The shipped adapter, or None when the file is absent (queries are used as they are)."""
    path = path or default_adapter_path()
    return NumpyQueryAdapter(path) if path.is_file() else None


def _torch_module(hidden: int, langs: tuple[str, ...], dim: int) -> Any:
    import torch
    from torch import nn

    class QueryAdapter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden, self.langs = hidden, langs
            self.maps = nn.ModuleDict()
            for lang in langs:
                if hidden:
                    last = nn.Linear(hidden, dim)
                    self.maps[lang] = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), last)
                else:
                    last = nn.Linear(dim, dim)
                    self.maps[lang] = last
                nn.init.zeros_(last.weight)  # starts as the identity map
                nn.init.zeros_(last.bias)

        def forward(self, q: torch.Tensor, lang: str) -> torch.Tensor:
            key = lang if lang in self.maps else self.langs[0]
            return nn.functional.normalize(q + self.maps[key](q), dim=-1)

    return QueryAdapter()


def QueryAdapter(hidden: int, langs: tuple[str, ...], dim: int = 384) -> Any:
    """The trainable torch form (tools/text_adapter.py)."""
    return _torch_module(hidden, tuple(langs), dim)


def save_adapter(model: Any, path: Path, meta: dict[str, Any]) -> None:
    """Weights as float32 arrays named `<lang>.w`/`.b` (linear) or `.w1/.b1/.w2/.b2` (MLP)."""
    arrays: dict[str, np.ndarray] = {}
    for lang, m in model.maps.items():
        if model.hidden:
            parts = {"w1": m[0].weight, "b1": m[0].bias, "w2": m[2].weight, "b2": m[2].bias}
        else:
            parts = {"w": m.weight, "b": m.bias}
        for name, t in parts.items():
            arrays[f"{lang}.{name}"] = t.detach().cpu().numpy().astype(np.float32)
    config = {"hidden": model.hidden, "langs": list(model.langs), **meta}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, config=np.array(json.dumps(config)), **arrays)
