"""Which fingerprint rows exist to be looked up rather than read: an audio file's index keys
and a video's key-frame hashes, hundreds per asset, which displays count instead of listing."""

from __future__ import annotations

from assetloom.core.audio_match import CHROMAPRINT_KEY
from assetloom.core.video_match import is_frame_kind


def is_lookup(kind: str) -> bool:
    return kind == CHROMAPRINT_KEY or is_frame_kind(kind)
