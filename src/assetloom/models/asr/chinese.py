"""Chinese transcripts in Simplified characters, whatever script the recogniser wrote.

Whisper writes Mandarin mostly in Taiwan-style Traditional characters (裡, 著, 軟體). Library
users search in Simplified, so transcripts are converted with OpenCC's `tw2sp` (Taiwan
Traditional to Simplified with mainland phrasing: 軟體 → 软件, 叼著 → 叼着); plain `t2s`
leaves 著 and Taiwan words as they are. Already-Simplified text passes through unchanged.
"""

from __future__ import annotations

import functools
from typing import Any

CONFIG = "tw2sp"
CHINESE = frozenset({"zh"})
"""Whisper's code for Mandarin. Cantonese ("yue") is left in the script it came in: its
readers mostly write Traditional."""


@functools.cache
def _converter() -> Any:
    import opencc

    return opencc.OpenCC(CONFIG)


def to_simplified(text: str) -> str:
    return str(_converter().convert(text))
