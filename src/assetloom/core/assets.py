"""What an asset is, independent of how it is stored or shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class MediaType(StrEnum):
    IMAGE = "image"
    TEXT = "text"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    """PDF, Word, PowerPoint, and designs (Photoshop, SVG, EPS): pages of text, pictures."""


class Space(StrEnum):
    """The vector spaces a library keeps (one vector index each)."""

    VISUAL = "visual"
    """Images in the shared zh/en space (text queries match them)."""
    TEXT = "text"
    """Text documents (and, later, transcripts) in the same shared space."""
    BACKBONE = "backbone"
    """Images in the backbone's own visual space: image-to-image look-alikes."""


class Family(StrEnum):
    """Fingerprint families searched by Hamming distance (one binary index each)."""

    PDQ = "pdq"
    SIMHASH64 = "simhash64"

    @property
    def bits(self) -> int:
        return {Family.PDQ: 256, Family.SIMHASH64: 64}[self]


class Tier(StrEnum):
    """How close a file is to a library asset, strongest first."""

    EXACT = "exact"
    NEAR_IDENTICAL = "near-identical"
    SIMILAR = "similar"
    NONE = "none"

    @property
    def rank(self) -> int:
        return list(Tier).index(self)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """One perceptual or content hash. `kind` names the algorithm and variant (e.g. "pdq")."""

    kind: str
    value: bytes
    quality: int | None = None

    @property
    def hex(self) -> str:
        return self.value.hex()


@dataclass(frozen=True, slots=True)
class Segment:
    """Where inside an asset a vector or a passage comes from: a moment of a recording, a
    page of a document, a line of text in a picture. A search hit names it
    (`matched: [{"source": "transcript", "start": 12.4, "end": 17.9, "text": ...}]`)."""

    source: str
    """"transcript", "frame", "page", "ocr" or "content"."""
    start: float | None = None
    """Seconds from the start of the recording."""
    end: float | None = None
    page: int | None = None
    """1-based page of a document."""
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"source": self.source}
        for key in ("start", "end", "page", "text"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = value
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Segment:
        return cls(
            str(doc["source"]), doc.get("start"), doc.get("end"), doc.get("page"), doc.get("text")
        )


@dataclass(slots=True)
class Asset:
    asset_id: str
    sha256: str
    media_type: MediaType
    mime: str
    size: int
    original_name: str
    registered_at: datetime
    width: int | None = None
    height: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    fingerprints: list[Fingerprint] = field(default_factory=list)
    # Where it came from, as the catalog recorded it: the absolute path `add` was given, or
    # "upload by <user>: <file name>" for API uploads. None when unknown.
    source: str | None = None

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)


@dataclass(frozen=True, slots=True)
class Match:
    asset_id: str
    tier: Tier
    distance: float
    registered_at: datetime
    original_name: str
    segment: Segment | None = None
    """Where in the library asset the file matched (an audio excerpt's offset and length);
    None when the match is of the whole asset."""
    inliers: int | None = None
    """Local-feature matches one transform explains, when geometric verification made the
    match (`core.copy_rules.geometric_match`); None otherwise."""
