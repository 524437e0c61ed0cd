"""Which encoder a setting string means, loaded once per process.

Setting strings (one per library; switching re-embeds it, because the spaces differ):
  "offline"             e5-small text + EfficientNet-Lite2 with the shipped alignment head
  "offline:<head.npz>"  the same with a library's own head (`assetloom align train`)
  "clip:<dir|hub id>"   a CLIP ONNX export (see clip_onnx) for both text and images

Encoders are keyed by (task, backend, spec, cache dir) and built on first request; building is
cheap, the weights themselves load on first encode. What is handed out is the backend's encoder
behind a thin proxy that times each public encode call (see `timing`); every other attribute is
the backend's own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from assetloom.models import timing
from assetloom.models.base import ImageEncoder, TextEncoder
from assetloom.models.errors import UnknownBackendError

DEFAULT_MODEL = "offline"
TEXT, IMAGE = "text", "image"

_lock = threading.Lock()
_instances: dict[tuple[str, str, str, str], Any] = {}
_threads: int | None = None


def set_threads(threads: int | None) -> None:
    """Threads per model runtime for encoders built from now on in this process.

    Ingest workers set 1: the parallelism comes from one worker per core, and runtimes that
    each also take every core only fight over them.
    """
    global _threads
    _threads = threads


def parse_model_setting(setting: str) -> tuple[str, str]:
    """'offline' → ("offline", ""); 'clip:/models/ViT-B-32' → ("clip", "/models/ViT-B-32")."""
    backend, _, spec = setting.strip().partition(":")
    backend = backend.lower()
    if backend == "clip":
        valid = bool(spec)
    else:
        valid = backend == "offline" and (not spec or spec.endswith(".npz"))
    if not valid:
        raise UnknownBackendError(
            f"Unknown model setting {setting!r}",
            hint="use 'offline', 'offline:<alignment head .npz>' or 'clip:<folder or hub id>'",
        )
    return backend, spec


def _offline_text(_spec: str, _cache: Path | None) -> TextEncoder:
    from assetloom.models.text_e5 import E5TextEncoder

    # One encoder whatever the head: they all share e5's space.
    return _get((TEXT, "offline", "", ""), lambda: E5TextEncoder(num_threads=_threads))


def _offline_image(spec: str, cache: Path | None) -> ImageEncoder:
    from assetloom.models.offline import OfflineImageEncoder

    if cache is None:
        raise ValueError("the offline image encoder needs a cache folder for its ONNX graph")
    return OfflineImageEncoder(cache, head_path=Path(spec) if spec else None, threads=_threads)


def _clip_model(spec: str, cache: Path | None) -> Any:
    from assetloom.models.clip_onnx import ClipModel, resolve_model_dir

    return _get(
        ("model", "clip", spec, str(cache)),
        lambda: ClipModel(resolve_model_dir(spec, cache), threads=_threads),
    )


def _clip_text(spec: str, cache: Path | None) -> TextEncoder:
    from assetloom.models.clip_onnx import ClipTextEncoder

    return ClipTextEncoder(_clip_model(spec, cache))


def _clip_image(spec: str, cache: Path | None) -> ImageEncoder:
    from assetloom.models.clip_onnx import ClipImageEncoder

    return ClipImageEncoder(_clip_model(spec, cache))


_BACKENDS: dict[str, dict[str, Callable[[str, Path | None], Any]]] = {
    "offline": {TEXT: _offline_text, IMAGE: _offline_image},
    "clip": {TEXT: _clip_text, IMAGE: _clip_image},
}


class _Timed:
    """Delegates every attribute (reads and writes) to the wrapped encoder, `__wrapped__`."""

    def __init__(self, encoder: Any) -> None:
        object.__setattr__(self, "__wrapped__", encoder)

    def __getattr__(self, name: str) -> Any:
        try:
            encoder = object.__getattribute__(self, "__wrapped__")
        except AttributeError:  # half-built (copy, pickle): no recursion through __getattr__
            raise AttributeError(name) from None
        return getattr(encoder, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.__wrapped__, name, value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__wrapped__!r})"


class _TimedText(_Timed):
    def encode_queries(self, texts: list[str]) -> np.ndarray:
        enc = self.__wrapped__
        return timing.timed(
            enc.name, timing.TEXT_QUERY, len(texts), lambda: enc.encode_queries(texts)
        )

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        enc = self.__wrapped__
        return timing.timed(
            enc.name, timing.TEXT_PASSAGE, len(texts), lambda: enc.encode_passages(texts)
        )


class _TimedImage(_Timed):
    def encode(self, images: list[Image.Image]) -> np.ndarray:
        enc = self.__wrapped__
        return timing.timed(enc.name, timing.IMAGE, len(images), lambda: enc.encode(images))

    def backbone_features(self, images: list[Image.Image]) -> np.ndarray:
        enc = self.__wrapped__
        return timing.timed(
            enc.name, timing.IMAGE, len(images), lambda: enc.backbone_features(images)
        )

    def encode_with_features(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        enc = self.__wrapped__
        return timing.timed(
            enc.name, timing.IMAGE, len(images), lambda: enc.encode_with_features(images)
        )


def _get(key: tuple[str, str, str, str], build: Callable[[], Any]) -> Any:
    # Build outside the lock: a builder may itself call _get (both CLIP towers share one model).
    # Two threads racing to build is harmless, since loading is lazy; the first one stored wins.
    with _lock:
        if key in _instances:
            return _instances[key]
    instance = build()
    with _lock:
        return _instances.setdefault(key, instance)


def get_text_encoder(setting: str = DEFAULT_MODEL, cache_dir: Path | None = None) -> TextEncoder:
    """The text encoder that defines the shared space for `setting`."""
    backend, spec = parse_model_setting(setting)
    factory = _BACKENDS[backend][TEXT]
    return _get((TEXT, backend, spec, str(cache_dir)), lambda: _TimedText(factory(spec, cache_dir)))


def get_image_encoder(setting: str = DEFAULT_MODEL, cache_dir: Path | None = None) -> ImageEncoder:
    """The image encoder into that space; `cache_dir` holds exported graphs and downloads."""
    backend, spec = parse_model_setting(setting)
    factory = _BACKENDS[backend][IMAGE]
    return _get(
        (IMAGE, backend, spec, str(cache_dir)), lambda: _TimedImage(factory(spec, cache_dir))
    )


def clear_cache() -> None:
    """Forget loaded encoders (tests; a library switching model in a long-lived process)."""
    with _lock:
        _instances.clear()
