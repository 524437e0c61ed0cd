"""Spaces between Latin words that the recogniser left out.

PP-OCRv4's recogniser was trained mostly on Chinese, where lines have no spaces, and it often
reads "Summer Sale" as "SummerSale": keyword search then never finds "summer". The picture
still shows the space, so it is put back from the line crop itself: a run of ink-free columns
between two Latin characters (whose positions come from the recogniser's CTC columns) that
is much wider than the line's usual gap between neighbours is a word break. Chinese characters never
get spaces between them. Text on a busy background gives no clean blank columns: then nothing
is inserted, which is no worse than the recogniser's own reading.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

WORD_GAP = 0.2
"""No blank run narrower than this share of the text's height is a space."""
LETTER_SPREAD = 2.0
"""A space is at least this many times the line's median gap between neighbours: most
neighbours are letters of one word, so the median is a letter gap (0.1-0.25 of the height,
depending on the letters and the font) and a word space (0.4-0.6) stands out."""
CLEAN_BORDER = 0.1
"""At most this share of the crop's border may be ink: text on a busy background gives no
trustworthy blank columns."""
_BAND = (0.15, 0.85)
"""Rows of the crop whose columns must be blank: the box's padding and neighbours' ascenders
stay out."""


def _latin(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "%$&+#@")


def blank_runs(crop: np.ndarray) -> tuple[list[tuple[int, int]], int]:
    """(start, end) columns of ink-free runs inside the text, and the text's height in rows."""
    import cv2

    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    if h < 4 or w < 4:
        return [], 0
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    border = np.concatenate([binary[0], binary[-1], binary[:, 0], binary[:, -1]])
    ink = binary == 0 if border.mean() > 127 else binary == 255
    edge = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
    if edge.mean() > CLEAN_BORDER:
        return [], 0
    rows = np.flatnonzero(ink.sum(axis=1))
    if rows.size == 0:
        return [], 0
    height = int(rows[-1] - rows[0] + 1)
    band = ink[int(h * _BAND[0]) : int(np.ceil(h * _BAND[1]))]
    inked = band.any(axis=0)
    filled = np.flatnonzero(inked)
    if filled.size == 0:
        return [], height
    runs: list[tuple[int, int]] = []
    start = None
    for x in range(int(filled[0]), int(filled[-1]) + 1):
        if not inked[x]:
            start = x if start is None else start
        elif start is not None:
            runs.append((start, x))
            start = None
    return runs, height


def restore_spaces(
    text: str, positions: Sequence[float], crop: np.ndarray, *, gap: float = WORD_GAP
) -> str:
    """`text` with a space wherever a wide blank run lies between two Latin characters.

    `positions`: each character's x in the crop (its CTC column's centre), in reading order,
    one per character of `text`.
    """
    if len(positions) != len(text) or len(text) < 3:
        return text
    runs, height = blank_runs(crop)
    if not runs or height == 0:
        return text
    gaps = [
        max((b - a for a, b in runs if positions[i - 1] < (a + b) / 2 < positions[i]), default=0)
        for i in range(1, len(text))
    ]
    neighbours = [g for i, g in enumerate(gaps, start=1) if " " not in text[i - 1 : i + 1]]
    if not neighbours:
        return text
    least = max(gap * height, LETTER_SPREAD * float(np.median(neighbours)))
    out = [text[0]]
    for i in range(1, len(text)):
        left, right = text[i - 1], text[i]
        if (
            left != " "
            and right != " "
            and (_latin(left) or _latin(right))
            and not (_cjk(left) and _cjk(right))
            and gaps[i - 1] >= least
        ):
            out.append(" ")
        out.append(right)
    return "".join(out)


def _cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"
