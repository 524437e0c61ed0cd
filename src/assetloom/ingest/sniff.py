"""Decide what a file is from its bytes (libmagic), never from its extension, and which
extractor reads it."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import magic

from assetloom.core.assets import MediaType
from assetloom.errors import UnsupportedMediaError
from assetloom.ingest.extractors import MediaExtractor, extractor_for

_ALIASES = {"image/x-ms-bmp": "image/bmp"}


@dataclass(frozen=True, slots=True)
class Sniffed:
    media_type: MediaType
    mime: str
    extractor: MediaExtractor


@functools.cache
def _detector() -> magic.Magic:
    return magic.Magic(mime=True)


def sniff(where: str, head: bytes) -> Sniffed:
    """Classify a file by its first bytes; raise UnsupportedMediaError with the reason."""
    mime = _detector().from_buffer(head)
    mime = _ALIASES.get(mime, mime)
    extractor = extractor_for(mime)
    if extractor is None and _looks_like_utf16(head):
        mime = "text/plain"
        extractor = extractor_for(mime)
    if extractor is not None:
        return Sniffed(extractor.media_type, extractor.mime_of(where, mime), extractor)
    raise _unsupported(where, mime)


def _unsupported(where: str, mime: str) -> UnsupportedMediaError:
    for family in ("audio", "video"):
        if mime.startswith(f"{family}/"):
            return UnsupportedMediaError(
                f"{where}: {family} ({mime}) is recognised but not supported yet",
                hint=f"{family} ingest arrives in a later release",
            )
    if mime.startswith("image/"):
        return UnsupportedMediaError(f"{where}: {mime} images are not supported")
    if mime == "application/octet-stream":
        return UnsupportedMediaError(
            f"{where}: unrecognised or damaged content",
            hint="it is not a readable image or text document",
        )
    return UnsupportedMediaError(f"{where}: not an image or text document (content is {mime})")


def _looks_like_utf16(head: bytes) -> bool:
    return head[:2] in (b"\xff\xfe", b"\xfe\xff")
