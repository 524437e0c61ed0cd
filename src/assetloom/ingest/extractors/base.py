"""The MediaExtractor seam: one class per kind of file, found by the MIME type sniffed from
its bytes. A new media type is a new module registered here, not an edit at dispatch sites.

An extractor reads one file (the hash and size checks are already done), fills the record's
metadata, fingerprints and thumbnail, and returns what it decoded for the enrichers. It runs
in a worker process, without the catalog; errors are `AssetLoomError`s whose message becomes
the file's skip reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol

from assetloom.core.assets import MediaType
from assetloom.ingest.records import ModelInputs, Options, Prepared


class MediaExtractor(Protocol):
    media_type: ClassVar[MediaType]

    def accepts(self, mime: str) -> bool:
        """Whether this extractor reads content of this (sniffed) MIME type."""
        ...

    def mime_of(self, where: str, mime: str) -> str:
        """The MIME type to record (libmagic's answer, refined where it is too coarse)."""
        ...

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        """Fill `record`; `query`: a file to match against the library (verify, search by
        example), which wants query-side fingerprints and no thumbnail."""
        ...


_registry: list[MediaExtractor] = []


def register(extractor: MediaExtractor) -> MediaExtractor:
    """Add an extractor; the first registered that accepts a MIME type reads it."""
    _registry.append(extractor)
    return extractor


def extractor_for(mime: str) -> MediaExtractor | None:
    return next((e for e in _registry if e.accepts(mime)), None)
