"""CLIP through ONNX Runtime, for users who have CLIP weights.

Why ONNX and not open_clip: open_clip imports torchvision unconditionally (and wants timm), which
AssetLoom does not install; ONNX Runtime is already here for the offline encoder. The model folder
follows the layout Immich uses for its CLIP exports, so those can be used as they are, including
multilingual ones (e.g. XLM-Roberta text towers, which read Chinese):

    <dir>/config.json                   {"embed_dim": D, "text_cfg": {"context_length": 77, ...}}
    <dir>/visual/model.onnx             input "image": float32 (n, 3, S, S), normalised
    <dir>/visual/preprocess_cfg.json    {"size", "mean", "std", "interpolation", "resize_mode"}
    <dir>/textual/model.onnx            input "text" int32 (n, L), or "input_ids" + "attention_mask"
    <dir>/textual/tokenizer.json        a Hugging Face `tokenizers` file
    <dir>/textual/tokenizer_config.json {"pad_token": ...}

With CLIP selected the shared space is CLIP's: the text side is CLIP's text tower (queries and
passages alike; CLIP has no asymmetric prefixes), and image-to-image similarity uses the image
embedding itself, which is already a good visual descriptor.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from assetloom.models.backbone import onnx_session
from assetloom.models.base import l2_normalise
from assetloom.models.errors import ModelError, ModelNotInstalledError

REQUIRED_FILES = (
    "config.json",
    "visual/model.onnx",
    "visual/preprocess_cfg.json",
    "textual/model.onnx",
    "textual/tokenizer.json",
    "textual/tokenizer_config.json",
)
_RESAMPLING = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
}


def resolve_model_dir(spec: str, cache_dir: Path | None) -> Path:
    """A local folder as given, or a hub id fetched once into `cache_dir/clip/`."""
    local = Path(spec).expanduser()
    looks_local = spec.startswith(("/", ".", "~")) or local.exists()
    if looks_local:
        check_model_dir(local)
        return local
    if cache_dir is None:
        raise ModelError(
            f"CLIP model {spec!r} is not a local folder, and no cache folder was given to "
            "download it into"
        )
    target = Path(cache_dir) / "clip" / spec.replace("/", "__")
    if not all((target / name).is_file() for name in REQUIRED_FILES):
        _download(spec, target)
    check_model_dir(target)
    return target


def _download(repo_id: str, target: Path) -> None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise ModelNotInstalledError(
            f"Fetching CLIP model {repo_id!r} needs huggingface_hub, which is not installed",
            hint="pip install huggingface_hub, or download the model folder yourself and set "
            "the model to clip:<that folder>",
        ) from exc
    try:
        snapshot_download(repo_id, local_dir=target, allow_patterns=["*.json", "*.onnx*"])
    except Exception as exc:
        raise ModelError(
            f"Could not download CLIP model {repo_id!r}: {exc}",
            hint="on an offline machine, copy the model folder here and set the model to "
            "clip:<that folder>",
        ) from exc


def check_model_dir(path: Path) -> None:
    if not path.is_dir():
        raise ModelNotInstalledError(
            f"CLIP weights folder not found: {path}",
            hint="point the model setting at a folder with visual/ and textual/ ONNX exports "
            "(e.g. one of Immich's CLIP models), or use 'offline'",
        )
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelNotInstalledError(
            f"CLIP weights folder {path} lacks {', '.join(missing)}",
            hint="it must hold config.json, visual/model.onnx + preprocess_cfg.json and "
            "textual/model.onnx + tokenizer.json + tokenizer_config.json",
        )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"Cannot read {path}: {exc}") from exc


def _batchable(session: Any) -> bool:
    """Exports with a fixed batch dimension of 1 (some are) must be fed one item at a time."""
    dim = session.get_inputs()[0].shape[0]
    return not isinstance(dim, int) or dim != 1


class ClipModel:
    """One CLIP folder: both towers load lazily and once, shared by the two encoder views."""

    def __init__(self, path: Path, threads: int | None = None, batch_size: int = 16) -> None:
        self.path = path
        self.name = f"clip-{path.name}"
        config = _read_json(path / "config.json")
        try:
            self.dim = int(config["embed_dim"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path / 'config.json'} has no integer embed_dim") from exc
        self.context_length = int(config.get("text_cfg", {}).get("context_length", 77))
        self.batch_size = batch_size
        self._threads = threads
        self._lock = threading.Lock()
        self._visual: Any = None
        self._textual: Any = None
        self._tokenizer: Any = None
        self._pool: ThreadPoolExecutor | None = None
        pre = _read_json(path / "visual" / "preprocess_cfg.json")
        size = pre.get("size", 224)
        self.size = int(size[0] if isinstance(size, list) else size)
        self.mean = np.asarray(pre.get("mean", (0.48145466, 0.4578275, 0.40821073)), np.float32)
        self.std = np.asarray(pre.get("std", (0.26862954, 0.26130258, 0.27577711)), np.float32)
        self.resample = _RESAMPLING.get(pre.get("interpolation", "bicubic"))
        self.resize_mode = pre.get("resize_mode", "shortest")
        if self.resample is None or self.resize_mode not in ("shortest", "squash"):
            raise ModelError(
                f"Unsupported preprocessing in {path / 'visual' / 'preprocess_cfg.json'}: {pre}"
            )

    def _visual_session(self) -> Any:
        with self._lock:
            if self._visual is None:
                self._visual = onnx_session(self.path / "visual" / "model.onnx", self._threads)
            return self._visual

    def _text_session(self) -> tuple[Any, Any]:
        with self._lock:
            if self._textual is None:
                self._tokenizer = self._load_tokenizer()
                self._textual = onnx_session(self.path / "textual" / "model.onnx", self._threads)
            return self._textual, self._tokenizer

    def _load_tokenizer(self) -> Any:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelNotInstalledError(
                "The CLIP backend needs the `tokenizers` package",
                hint="pip install -r requirements/models.txt",
            ) from exc
        textual = self.path / "textual"
        pad_token = _read_json(textual / "tokenizer_config.json").get("pad_token")
        tokenizer = Tokenizer.from_file(str(textual / "tokenizer.json"))
        pad_id = tokenizer.token_to_id(pad_token) if pad_token else None
        if pad_id is None:
            raise ModelError(f"{textual / 'tokenizer.json'} has no pad token {pad_token!r}")
        tokenizer.enable_padding(length=self.context_length, pad_id=pad_id, pad_token=pad_token)
        tokenizer.enable_truncation(max_length=self.context_length)
        return tokenizer

    def _pixels(self, img: Image.Image) -> np.ndarray:
        img = img.convert("RGB")
        if self.resize_mode == "squash":
            img = img.resize((self.size, self.size), self.resample)
        else:
            scale = self.size / min(img.size)
            w, h = (max(self.size, round(d * scale)) for d in img.size)
            img = img.resize((w, h), self.resample)
            left, top = (w - self.size) // 2, (h - self.size) // 2
            img = img.crop((left, top, left + self.size, top + self.size))
        x = np.asarray(img, dtype=np.float32) / 255.0
        return ((x - self.mean) / self.std).transpose(2, 0, 1)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), np.float32)
        session = self._visual_session()
        step = self.batch_size if _batchable(session) else 1
        if self._pool is None:
            self._pool = ThreadPoolExecutor(thread_name_prefix="assetloom-clip-prep")
        pixels = np.stack(list(self._pool.map(self._pixels, images)))
        out = [
            session.run(None, {"image": pixels[i : i + step]})[0]
            for i in range(0, len(pixels), step)
        ]
        return l2_normalise(np.concatenate(out))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        session, tokenizer = self._text_session()
        names = {i.name for i in session.get_inputs()}
        encodings = tokenizer.encode_batch([re.sub(r"\s+", " ", t).strip() for t in texts])
        ids = np.asarray([e.ids for e in encodings], dtype=np.int32)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int32)
        step = self.batch_size if _batchable(session) else 1
        out = []
        for i in range(0, len(ids), step):
            if "text" in names:
                feeds = {"text": ids[i : i + step]}
            else:
                feeds = {"input_ids": ids[i : i + step], "attention_mask": mask[i : i + step]}
            out.append(session.run(None, feeds)[0])
        return l2_normalise(np.concatenate(out))


class ClipTextEncoder:
    """TextEncoder view of a ClipModel."""

    def __init__(self, model: ClipModel) -> None:
        self.model = model
        self.name = model.name
        self.dim = model.dim

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.model.encode_texts(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.model.encode_texts(texts)


class ClipImageEncoder:
    """ImageEncoder view of a ClipModel; its visual features are the image embedding."""

    def __init__(self, model: ClipModel) -> None:
        self.model = model
        self.name = model.name
        self.dim = model.dim
        self.feature_dim = model.dim
        self.text_encoder_name = model.name

    def encode(self, images: list[Image.Image]) -> np.ndarray:
        return self.model.encode_images(images)

    def backbone_features(self, images: list[Image.Image]) -> np.ndarray:
        return self.model.encode_images(images)

    def encode_with_features(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        emb = self.model.encode_images(images)
        return emb, emb

    def picture_queries(self, queries: np.ndarray, texts: list[str]) -> np.ndarray:
        return queries  # CLIP's text tower was trained against these pictures
