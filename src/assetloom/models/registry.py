"""Which encoder a setting string means, from the process's one model pool (see `pool`).

Setting strings (one per library; switching re-embeds it, because the spaces differ):
  "offline"             e5-small text + EfficientNet-Lite2 with the shipped alignment head
  "offline:<head.npz>"  the same with a library's own head (`assetloom align train`)
  "clip:<dir|hub id>"   a CLIP ONNX export (see clip_onnx) for both text and images
Speech recognisers (task "asr", the `asr_model` setting): "whisper-base", "whisper-tiny.en".
Image generators (task "image-gen"): "diffusers" with a pipeline folder as the spec.

Encoders are pooled under ("text-encoder" | "image-encoder", backend, spec, cache dir) and built
on first request; building is cheap, the weights themselves load on first encode. Idle ones are
unloaded after the `model_idle_s` setting (`configure`, `sweep`). What is handed out is a handle
that leases the encoder for each call and times each public encode call (see `timing`); every
other attribute reads through to the backend's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
from PIL import Image

from assetloom.models import timing
from assetloom.models.base import (
    ImageEncoder,
    Moderator,
    OcrEngine,
    TextEncoder,
    Transcriber,
    Transcript,
)
from assetloom.models.errors import UnknownBackendError
from assetloom.models.pool import Build, Handle, Key, LoadedModel, ModelPool
from assetloom.settings import Settings

if TYPE_CHECKING:
    from assetloom.models.style import StyleModel

DEFAULT_MODEL = "offline"
TEXT_ENCODER, IMAGE_ENCODER = "text-encoder", "image-encoder"
CLIP_MODEL = "clip-model"
"""Both CLIP towers are views of one model folder, loaded once."""
OCR, MODERATION = "ocr", "moderation"
"""Text in pictures (setting `ocr`) and the moderation classifier (setting `moderation`)."""
DEFAULT_OCR, DEFAULT_MODERATOR = "rapidocr", "open-nsfw"
ASR = "asr"
ASR_OFF = "off"
IMAGE_GEN = "image-gen"
"""Text-to-image models the studio's model-backed image backends lease (spec: their folder)."""
STYLE = "style"
"""Gram-matrix style distance on the offline backbone (see style)."""
DEFAULT_IDLE_S: float = Settings.model_fields["model_idle_s"].default

MODELS = ModelPool(idle_s=DEFAULT_IDLE_S)
"""Every model of this process. Other tasks (OCR, ASR, generators...) register here too."""

_threads: int | None = None


def set_threads(threads: int | None) -> None:
    """Threads per model runtime for encoders built from now on in this process.

    Ingest workers set 1: the parallelism comes from one worker per core, and runtimes that
    each also take every core only fight over them.
    """
    global _threads
    _threads = threads


def configure(*, idle_s: float | None = None, max_loaded: int | None = None) -> None:
    """This process's eviction policy: a server sets `model_idle_s` from its library."""
    MODELS.configure(idle_s=idle_s, max_loaded=max_loaded)


def sweep() -> list[Key]:
    """Unload the models idle past the policy; a long-running process calls it on a timer."""
    return MODELS.sweep()


def stats() -> list[LoadedModel]:
    """The models loaded in this process now."""
    return MODELS.stats()


def clear_cache() -> None:
    """Forget loaded encoders (tests; a library switching model in a long-lived process)."""
    MODELS.clear()


# ---------------------------------------------------------------------- model settings
@dataclass(frozen=True)
class SettingForm:
    """One backend's spelling of the library `model` setting; it names a text and an image
    encoder backend of the same name."""

    accepts: Callable[[str], bool]
    usage: tuple[str, ...]


MODEL_SETTINGS: dict[str, SettingForm] = {
    "offline": SettingForm(
        lambda spec: not spec or spec.endswith(".npz"),
        ("'offline'", "'offline:<alignment head .npz>'"),
    ),
    "clip": SettingForm(bool, ("'clip:<folder or hub id>'",)),
}


def parse_model_setting(setting: str) -> tuple[str, str]:
    """'offline' → ("offline", ""); 'clip:/models/ViT-B-32' → ("clip", "/models/ViT-B-32")."""
    backend, _, spec = setting.strip().partition(":")
    backend = backend.lower()
    form = MODEL_SETTINGS.get(backend)
    if form is None or not form.accepts(spec):
        usage = [u for f in MODEL_SETTINGS.values() for u in f.usage]
        raise UnknownBackendError(
            f"Unknown model setting {setting!r}",
            hint=f"use {', '.join(usage[:-1])} or {usage[-1]}",
        )
    return backend, spec


# ---------------------------------------------------------------------- backends
@MODELS.backend(TEXT_ENCODER, "offline", per_spec=False, per_cache=False)
def _offline_text(_build: Build) -> TextEncoder:
    from assetloom.models.text_e5 import E5TextEncoder

    # One encoder whatever the head: they all share e5's space.
    return E5TextEncoder(num_threads=_threads)


@MODELS.backend(IMAGE_ENCODER, "offline")
def _offline_image(build: Build) -> ImageEncoder:
    from assetloom.models.offline import OfflineImageEncoder

    if build.cache is None:
        raise ValueError("the offline image encoder needs a cache folder for its ONNX graph")
    head = Path(build.spec) if build.spec else None
    return OfflineImageEncoder(build.cache, head_path=head, threads=_threads)


@MODELS.backend(CLIP_MODEL, "clip")
def _clip_model(build: Build) -> object:
    from assetloom.models.clip_onnx import ClipModel, resolve_model_dir

    return ClipModel(resolve_model_dir(build.spec, build.cache), threads=_threads)


@MODELS.backend(TEXT_ENCODER, "clip", heavy=False)
def _clip_text(build: Build) -> TextEncoder:
    from assetloom.models.clip_onnx import ClipTextEncoder

    return ClipTextEncoder(build.need(CLIP_MODEL, "clip"))


@MODELS.backend(IMAGE_ENCODER, "clip", heavy=False)
def _clip_image(build: Build) -> ImageEncoder:
    from assetloom.models.clip_onnx import ClipImageEncoder

    return ClipImageEncoder(build.need(CLIP_MODEL, "clip"))


@MODELS.backend(ASR, "whisper-base", per_spec=False)
def _whisper_base(build: Build) -> Transcriber:
    from assetloom.models.asr.weights import whisper_base_dir
    from assetloom.models.asr.whisper import WhisperTranscriber

    cache = build.cache
    if cache is None:
        raise ValueError("Whisper base needs a cache folder to assemble its weights in")
    # Assembled on first transcription, not here: building a handle stays cheap.
    return WhisperTranscriber("whisper-base", lambda: whisper_base_dir(cache), threads=_threads)


@MODELS.backend(ASR, "whisper-tiny.en", per_spec=False, per_cache=False)
def _whisper_tiny_en(_build: Build) -> Transcriber:
    from assetloom.models.asr.weights import whisper_tiny_en_dir
    from assetloom.models.asr.whisper import WhisperTranscriber

    return WhisperTranscriber("whisper-tiny.en", whisper_tiny_en_dir, threads=_threads)


@MODELS.backend(OCR, "rapidocr", per_spec=False, per_cache=False)
def _rapidocr(_build: Build) -> OcrEngine:
    from assetloom.models.ocr.rapid import RapidOcrEngine

    return RapidOcrEngine(threads=_threads)


@MODELS.backend(MODERATION, "open-nsfw", per_spec=False, per_cache=False)
def _open_nsfw(_build: Build) -> Moderator:
    from assetloom.models.moderation.open_nsfw import OpenNsfwModerator

    return OpenNsfwModerator(threads=_threads)


@MODELS.backend(IMAGE_GEN, "diffusers", per_cache=False)
def _diffusers(build: Build) -> object:
    from assetloom.models.diffusion import DiffusionModel

    return DiffusionModel(Path(build.spec))


@MODELS.backend(STYLE, "lite2-gram")
def _lite2_gram(build: Build) -> object:
    from assetloom.models.style import StyleModel

    return StyleModel(build.cache or Settings().model_cache, threads=_threads)


# ---------------------------------------------------------------------- handles
class _TimedText(Handle):
    def encode_queries(self, texts: list[str]) -> np.ndarray:
        with self.leased() as enc:
            return timing.timed(
                enc.name, timing.TEXT_QUERY, len(texts), lambda: enc.encode_queries(texts)
            )

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        with self.leased() as enc:
            return timing.timed(
                enc.name, timing.TEXT_PASSAGE, len(texts), lambda: enc.encode_passages(texts)
            )


class _TimedImage(Handle):
    def encode(self, images: list[Image.Image]) -> np.ndarray:
        with self.leased() as enc:
            return timing.timed(enc.name, timing.IMAGE, len(images), lambda: enc.encode(images))

    def backbone_features(self, images: list[Image.Image]) -> np.ndarray:
        with self.leased() as enc:
            return timing.timed(
                enc.name, timing.IMAGE, len(images), lambda: enc.backbone_features(images)
            )

    def encode_with_features(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        with self.leased() as enc:
            return timing.timed(
                enc.name, timing.IMAGE, len(images), lambda: enc.encode_with_features(images)
            )

    def picture_queries(self, queries: np.ndarray, texts: list[str]) -> np.ndarray:
        with self.leased() as enc:
            return enc.picture_queries(queries, texts)


def get_text_encoder(setting: str = DEFAULT_MODEL, cache_dir: Path | None = None) -> TextEncoder:
    """The text encoder that defines the shared space for `setting`."""
    backend, spec = parse_model_setting(setting)
    return cast(TextEncoder, MODELS.handle(TEXT_ENCODER, backend, spec, cache_dir, _TimedText))


def get_image_encoder(setting: str = DEFAULT_MODEL, cache_dir: Path | None = None) -> ImageEncoder:
    """The image encoder into that space; `cache_dir` holds exported graphs and downloads."""
    backend, spec = parse_model_setting(setting)
    return cast(ImageEncoder, MODELS.handle(IMAGE_ENCODER, backend, spec, cache_dir, _TimedImage))


class _Transcribing(Handle):
    def transcribe(
        self, samples: np.ndarray, rate: int, *, language: str | None = None
    ) -> Transcript:
        with self.leased() as asr:
            return cast(Transcript, asr.transcribe(samples, rate, language=language))


def get_transcriber(setting: str = "whisper-base", cache_dir: Path | None = None) -> Transcriber:
    """The speech recogniser the `asr_model` setting names ("off" is the caller's to check)."""
    backend = setting.strip().lower()
    if backend not in MODELS.backends(ASR):
        names = [repr(n) for n in (*MODELS.backends(ASR), ASR_OFF)]
        raise UnknownBackendError(
            f"Unknown asr_model setting {setting!r}",
            hint=f"use {', '.join(names[:-1])} or {names[-1]}",
        )
    return cast(Transcriber, MODELS.handle(ASR, backend, "", cache_dir, _Transcribing))


def get_ocr_engine(backend: str = DEFAULT_OCR) -> OcrEngine:
    """The OCR engine of the `ocr` setting; its weights ship in its package (no cache)."""
    return cast(OcrEngine, MODELS.handle(OCR, backend, "", None, Handle))


def get_moderator(backend: str = DEFAULT_MODERATOR) -> Moderator:
    """The moderation classifier; its weights ship in its package (no cache)."""
    return cast(Moderator, MODELS.handle(MODERATION, backend, "", None, Handle))


def get_style_model(cache_dir: Path | None = None) -> StyleModel:
    """The style-distance model; `cache_dir` holds its exported graph (default: `model_cache`
    of the environment's settings)."""
    return cast("StyleModel", MODELS.handle(STYLE, "lite2-gram", "", cache_dir, Handle))
