"""Gram-matrix style distance (Gatys et al. 2016) on the EfficientNet-Lite2 backbone.

Style is what survives when spatial layout is thrown away: the correlations between feature
channels. Each image's Gram matrix G = F·Fᵀ / (C·H·W) is taken at three early stages (112×112,
56×56 and 28×28: colour and edges, then fine and coarser textures). The torch trunk is exported once
to an ONNX graph that outputs the Grams directly, as the offline encoder does, so a studio run
pays ONNX Runtime's speed and torch is only needed for the first build.

The distance between two images is, per stage, the squared Frobenius norm of the difference of
their Grams divided by the sum of their squared norms, averaged over the stages:

    d = mean_s ‖Ga − Gb‖² / (‖Ga‖² + ‖Gb‖²)

It is symmetric, 0 for the same picture, and at most 2; Grams of natural photos are mostly
positive, so in practice it lies in [0, 1]. On 50 Flickr8k dev photos (bench/style_distance.py),
a photo recoloured to a style reference by Reinhard transfer is 0.18 from it on average (median
0.16), an unrelated photo 0.24 (median 0.21); the recoloured copy is the closer one in 68% of
pairs (AUC 0.68). It measures colour and low-level texture, not content; treat differences under
~0.05 as noise.
"""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock
from PIL import Image

from assetloom.models import backbone
from assetloom.models.errors import ModelError

if TYPE_CHECKING:
    import torch

STAGES = (0, 4, 7)
"""Blocks run before each Gram is taken: the stem's output (112×112, 32 channels), then the
last block at 56×56 (24) and at 28×28 (48). On dev pairs deeper stages (14×14 and below) carry
the photo's content more than its style, and telling a recoloured copy from an unrelated photo
is near chance there (AUC 0.45–0.55), so they are left out."""
EXPORT_FORMAT = f"style-gram-lite2-v1-{'-'.join(map(str, STAGES))}"
"""Bump when the exported graph changes (stages, normalisation, inputs)."""


def grams(net: torch.nn.Module, image: torch.Tensor) -> list[torch.Tensor]:
    """(n, C, C) Gram matrices of the backbone's activations at each of `STAGES`."""
    x = backbone.normalise_input(image)
    x = net._swish(net._bn0(net._conv_stem(x)))
    out, done = [], 0
    for blocks in STAGES:
        x = backbone.run_blocks(net, x, done, blocks)
        done = blocks
        n, c, h, w = x.shape
        f = x.reshape(n, c, h * w)
        out.append(f @ f.transpose(1, 2) / (c * h * w))
    return out


class StyleModel:
    """The Gram graph, exported into `cache_dir` on first use; thread-safe."""

    def __init__(self, cache_dir: Path, threads: int | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.name = "lite2-gram"
        self._threads = threads
        self._session: Any = None
        self._lock = threading.Lock()

    @property
    def onnx_path(self) -> Path:
        digest = hashlib.sha256(EXPORT_FORMAT.encode()).hexdigest()[:16]
        return self.cache_dir / f"style-{digest}.onnx"

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                path = self.onnx_path
                if not path.is_file():
                    self.cache_dir.mkdir(parents=True, exist_ok=True)
                    with FileLock(str(path) + ".lock"):  # a parallel process may be exporting
                        if not path.is_file():
                            self._export(path)
                self._session = backbone.onnx_session(path, self._threads)
            return self._session

    def _export(self, path: Path) -> None:
        import torch

        net = backbone.load_efficientnet_lite2()

        class Graph(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = net

            def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
                return grams(self.net, image)

        backbone.export_onnx(Graph(), path, [f"gram{s}" for s in STAGES])

    def grams(self, images: list[Image.Image]) -> list[np.ndarray]:
        """Per stage, the (n, C, C) Grams of `images` (resized to 224×224 like the encoder)."""
        batch = np.stack([backbone.to_input(im) for im in images])
        try:
            return list(self._load().run(None, {"image": batch}))
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"The style model failed: {exc}") from exc

    def distance(self, image: Image.Image, style: Image.Image) -> float:
        total = 0.0
        for g in self.grams([image, style]):
            a, b = g[0].astype(np.float64), g[1].astype(np.float64)
            denom = float(np.sum(a * a) + np.sum(b * b))
            total += float(np.sum((a - b) ** 2)) / denom if denom > 0 else 0.0
        return total / len(STAGES)


def _image(x: Image.Image | bytes) -> Image.Image:
    if isinstance(x, Image.Image):
        return x
    try:
        im = Image.open(io.BytesIO(x))
        im.draft("RGB", (backbone.IMAGE_SIZE, backbone.IMAGE_SIZE))
        im.load()
    except Exception as exc:
        raise ModelError(f"The style distance needs an image: {exc}") from exc
    return im


def style_distance(
    image: Image.Image | bytes, style: Image.Image | bytes, cache_dir: Path | None = None
) -> float:
    """How far `image` is in style from the `style` reference (see the module doc for the scale)."""
    from assetloom.models.registry import get_style_model

    return float(get_style_model(cache_dir).distance(_image(image), _image(style)))
