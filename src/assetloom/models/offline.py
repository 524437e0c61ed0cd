"""The offline image encoder: EfficientNet-Lite2 trunk + shipped alignment head, one ONNX graph.

On first use the graph is built with torch from the two pip-installed weight files and exported
into the caller's cache directory (a library's `models/` folder); later processes only open it.
The file name carries a digest of everything that shapes the graph, so a new head or a new export
format never reuses a stale file. One forward pass yields both vectors a library stores per image:
the e5-space embedding and the backbone's own pooled features.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock
from PIL import Image

from assetloom.core.relevance import query_language
from assetloom.models import backbone
from assetloom.models.base import l2_normalise
from assetloom.models.errors import ModelError, ModelNotInstalledError
from assetloom.models.query_adapter import NumpyQueryAdapter, default_adapter_path, load_adapter
from assetloom.models.text_e5 import E5_DIM, E5_NAME

if TYPE_CHECKING:
    import torch

EXPORT_FORMAT = "offline-lite2-v2-mirror"
KEEP_GRAPHS = 4
"""Exported image graphs (~37 MB each, one per alignment head) kept in the model cache beyond
those used in the last `GRAPH_GRACE_S`: every `align train` makes one, and the cache is shared
by every library on the machine, so an unused one is only ever a re-export away."""
GRAPH_GRACE_S = 7 * 24 * 3600
"""Bump when the exported graph changes for the same weights (inputs, outputs, preprocessing)."""
HEAD_FILE = "alignment_head.npz"


def mirror_averaged(
    net: torch.nn.Module, head: torch.nn.Module, image: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings and features of each image averaged with its mirror image.

    Costs a second backbone pass and buys ~1 point of recall on Flickr8k dev (see MODEL_CARD.md);
    it also makes a mirrored copy of a picture land on the same visual features.
    """
    import torch

    n = image.shape[0]
    both = torch.cat([image, image.flip(2)])  # NHWC: axis 2 is the width
    tail_in, mid = backbone.stem_to_tail(net, both)
    emb = head(tail_in, mid)
    features = torch.nn.functional.normalize(backbone.tail_to_features(net, tail_in), dim=-1)
    emb = torch.nn.functional.normalize(emb[:n] + emb[n:], dim=-1)
    return emb, torch.nn.functional.normalize(features[:n] + features[n:], dim=-1)


def default_head_path() -> Path:
    return Path(str(resources.files("assetloom.models") / "weights" / HEAD_FILE))


class OfflineImageEncoder:
    """ImageEncoder into the e5-small space; thread-safe, loads on first call."""

    dim = E5_DIM
    feature_dim = backbone.FEATURE_DIM
    text_encoder_name = E5_NAME

    def __init__(
        self,
        cache_dir: Path,
        head_path: Path | None = None,
        threads: int | None = None,
        batch_size: int = 16,
        adapter_path: Path | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.head_path = head_path or default_head_path()
        if not self.head_path.is_file():
            raise ModelNotInstalledError(
                f"The image alignment head is missing: {self.head_path}",
                hint="reinstall assetloom, or train one with tools/train_alignment.py",
            )
        self.digest = self._digest()
        self.name = f"lite2-align-{self.digest[:8]}"
        self.batch_size = batch_size
        self._threads = threads
        self._session: Any = None
        self._lock = threading.Lock()
        self._preprocess = backbone.Preprocessor(workers=threads)
        self.adapter_path = adapter_path or default_adapter_path()
        self._adapter: NumpyQueryAdapter | bool | None = False  # False: not read yet

    def _digest(self) -> str:
        h = hashlib.sha256(EXPORT_FORMAT.encode())
        h.update(self.head_path.read_bytes())
        return h.hexdigest()

    @property
    def onnx_path(self) -> Path:
        return self.cache_dir / f"image-{self.digest[:16]}.onnx"

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                path = self.onnx_path
                if not path.is_file():
                    self.cache_dir.mkdir(parents=True, exist_ok=True)
                    # Another process (a parallel `add`) may be exporting the same graph.
                    with FileLock(str(path) + ".lock"):
                        if not path.is_file():
                            self._export(path)
                            prune_graphs(self.cache_dir, keep=path)
                self._session = backbone.onnx_session(path, self._threads)
                with contextlib.suppress(OSError):  # a read-only cache still works
                    path.touch()  # "used": pruning goes by modification time
            return self._session

    def _export(self, path: Path) -> None:
        try:
            from assetloom.models.alignment import load_head
        except ImportError as exc:
            raise ModelNotInstalledError(
                "PyTorch is needed once to build the image encoder, and it is not installed",
                hint="pip install -r requirements/models.txt",
            ) from exc
        import torch

        net = backbone.load_efficientnet_lite2()
        head, _ = load_head(self.head_path, net)

        class Graph(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net, self.head = net, head

            def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                return mirror_averaged(self.net, self.head, image)

        backbone.export_onnx(Graph(), path, ["embedding", "features"])

    def encode_with_features(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """(n, 384) shared-space vectors and (n, 1280) visual features from one pass."""
        if not images:
            return (
                np.zeros((0, self.dim), np.float32),
                np.zeros((0, self.feature_dim), np.float32),
            )
        session = self._load()
        embeddings, features = [], []
        for lo in range(0, len(images), self.batch_size):
            batch = self._preprocess(images[lo : lo + self.batch_size])
            try:
                emb, feat = session.run(None, {"image": batch})
            except Exception as exc:
                raise ModelError(f"The image encoder failed on a batch: {exc}") from exc
            embeddings.append(emb)
            features.append(feat)
        return l2_normalise(np.concatenate(embeddings)), l2_normalise(np.concatenate(features))

    def encode(self, images: list[Image.Image]) -> np.ndarray:
        return self.encode_with_features(images)[0]

    def picture_queries(self, queries: np.ndarray, texts: list[str]) -> np.ndarray:
        """e5 was never trained on pictures: the query adapter trained against this head
        reshapes each query for them, by its language (`models/query_adapter.py`)."""
        adapter = self._query_adapter()
        if adapter is None or not len(queries):
            return queries
        out = np.array(queries, dtype=np.float32, copy=True)
        langs = [query_language(t) for t in texts]
        for lang in set(langs):
            rows = [i for i, x in enumerate(langs) if x == lang]
            out[rows] = adapter(out[rows], lang)
        return out

    def _query_adapter(self) -> NumpyQueryAdapter | None:
        """Only the shipped head has a trained adapter; a head of one's own uses plain queries."""
        if self._adapter is False:
            with self._lock:
                shipped = self.head_path == default_head_path()
                self._adapter = load_adapter(self.adapter_path) if shipped else None
        return self._adapter  # type: ignore[return-value]

    def backbone_features(self, images: list[Image.Image]) -> np.ndarray:
        return self.encode_with_features(images)[1]


def prune_graphs(cache_dir: Path, keep: Path, now: float | None = None) -> list[Path]:
    """Delete exported image graphs unused for `GRAPH_GRACE_S`, beyond the `KEEP_GRAPHS`
    most recently used (never `keep`); returns what went."""
    now = time.time() if now is None else now
    graphs = sorted(
        (p for p in cache_dir.glob("image-*.onnx") if p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    gone = []
    for path in graphs[KEEP_GRAPHS - 1 :]:
        if now - path.stat().st_mtime > GRAPH_GRACE_S:
            path.unlink(missing_ok=True)
            Path(str(path) + ".lock").unlink(missing_ok=True)
            gone.append(path)
    return gone
