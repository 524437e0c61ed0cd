"""What per-file work hands back: plain records that pickle cheaply between processes.

A worker returns a `Prepared` record (or a `Skipped` reason) and the use case commits it in
one transaction, so a crash while preparing can never leave a half-registered asset.
`ModelInputs` never leaves the worker: it is what the extractor decoded for the enrichers
(pictures, passages), handed on within the chunk so models batch across files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assetloom.core.assets import Fingerprint, MediaType, Segment

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from assetloom.settings import Settings


@dataclass(frozen=True, slots=True)
class Options:
    """What a worker needs to know; plain values so it pickles cheaply."""

    max_image_pixels: int
    max_file_bytes: int
    thumbnail_size: int
    embed: bool = False
    model: str = "offline"
    model_cache: str = ""
    asr: str = "whisper-base"
    """The `asr_model` setting: a speech recogniser backend, or "off"."""
    ocr: str = "off"
    """The `ocr` setting: an OCR backend, or "off"."""
    moderation: str = "off"
    """The `moderation` policy: "off", "flag" or "quarantine"."""
    moderation_threshold: float = 1.0

    @classmethod
    def from_settings(cls, s: Settings, *, embed: bool | None = None) -> Options:
        return cls(
            s.max_image_pixels,
            s.max_file_bytes,
            s.thumbnail_size,
            s.understanding if embed is None else embed,
            s.model,
            str(s.model_cache),
            asr=s.asr_model,
            ocr=s.ocr,
            moderation=s.moderation,
            moderation_threshold=s.moderation_threshold,
        )


@dataclass(slots=True)
class Prepared:
    path: str
    sha256: str
    size: int
    mtime_ns: int
    media_type: MediaType
    mime: str
    width: int | None = None
    height: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    fingerprints: list[Fingerprint] = field(default_factory=list)
    thumbnail: bytes | None = None
    derived: dict[str, bytes] = field(default_factory=dict)
    """Other derived files by name (a video's "strip.webp" preview), stored beside the
    thumbnail as "<sha256>/<name>"."""
    text_content: str | None = None
    embeddings: dict[str, bytes] = field(default_factory=dict)
    """space -> float32 vector bytes; `embedding_model` names the encoder per space."""
    embedding_model: dict[str, str] = field(default_factory=dict)
    passages: list[Segment] = field(default_factory=list)
    """Text found inside the asset, where it was found: transcript segments, page text,
    OCR lines. Searchable by keyword and embedded one vector each (`segment_vectors`)."""
    segment_vectors: list[SegmentVector] = field(default_factory=list)
    """Vectors of parts of the asset (key frames, pages, passages) beside the whole's."""


@dataclass(frozen=True, slots=True)
class SegmentVector:
    space: str
    model: str
    vector: bytes
    segment: Segment


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str


@dataclass(slots=True)
class ModelInputs:
    """What an extractor decoded for the model steps of one file.

    `images`: pictures the image encoders see (the upright image itself; later a video's
    key frames or a document's pages). `texts`: passages the text encoder reads (a text
    document's opening; later transcript passages, page text, OCR lines).
    """

    images: list[Image.Image] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    frames: list[tuple[Segment, Image.Image]] = field(default_factory=list)
    """Pictures of parts of the asset (a video's key frames, a document's pages), each
    embedded into the image spaces as a segment vector."""
    speech: Audio | None = None
    """The sound track for speech recognition, when the file has one."""


@dataclass(frozen=True, slots=True)
class Audio:
    """Mono float32 samples at `rate` Hz (16 kHz: what speech models read)."""

    samples: np.ndarray
    rate: int = 16_000

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate
