"""Decide what a file is from its bytes (libmagic), never from its extension."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import magic

from assetloom.core.assets import MediaType
from assetloom.errors import UnsupportedMediaError

IMAGE_MIMES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/tiff",
        "image/bmp",
        "image/x-ms-bmp",
        "image/heic",
        "image/heif",
        "image/heic-sequence",
        "image/heif-sequence",
        "image/avif",
        "image/x-portable-bitmap",
        "image/x-portable-greymap",
        "image/x-portable-pixmap",
    }
)
_TEXT_MIMES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})


@dataclass(frozen=True, slots=True)
class Sniffed:
    media_type: MediaType
    mime: str


@functools.cache
def _detector() -> magic.Magic:
    return magic.Magic(mime=True)


def sniff(where: str, head: bytes) -> Sniffed:
    """Classify a file by its first bytes; raise UnsupportedMediaError with the reason."""
    mime = _detector().from_buffer(head)
    if mime == "image/x-ms-bmp":
        mime = "image/bmp"
    if mime in IMAGE_MIMES:
        return Sniffed(MediaType.IMAGE, mime)
    if mime.startswith("audio/"):
        raise UnsupportedMediaError(
            f"{where}: audio ({mime}) is recognised but not supported yet",
            hint="audio ingest arrives in a later release",
        )
    if mime.startswith("video/"):
        raise UnsupportedMediaError(
            f"{where}: video ({mime}) is recognised but not supported yet",
            hint="video ingest arrives in a later release",
        )
    if mime in _TEXT_MIMES or mime.startswith("text/") or _looks_like_utf16(head):
        return Sniffed(MediaType.TEXT, "text/markdown" if _is_markdown(where) else "text/plain")
    if mime.startswith("image/"):
        raise UnsupportedMediaError(f"{where}: {mime} images are not supported")
    if mime == "application/octet-stream":
        raise UnsupportedMediaError(
            f"{where}: unrecognised or damaged content",
            hint="it is not a readable image or text document",
        )
    raise UnsupportedMediaError(f"{where}: not an image or text document (content is {mime})")


def _looks_like_utf16(head: bytes) -> bool:
    return head[:2] in (b"\xff\xfe", b"\xfe\xff")


def _is_markdown(where: str) -> bool:
    return where.lower().endswith((".md", ".markdown"))
