"""When two recordings are the same audio: Chromaprint fingerprints compared bit by bit at
their best alignment, and the lookup keys that find candidates without comparing them all.

A Chromaprint fingerprint (algorithm 2, what `fpcalc` computes) is one 32-bit word per
4096/3 samples at 11,025 Hz (0.124 s); each bit is a quantised feature of the spectrum
around that moment. A copy of a recording (re-encoded, louder or quieter, cut out of it)
keeps most bits at the right offset; different recordings agree on 58-74 % of bits even at
their best offset, since neighbouring features are correlated (speech by one voice scores
highest). Lowest similarity (1 - bit error rate at the best offset) of copies to their
originals in bench/media_copies.py (--n 20: espeak-ng speech and synthetic music), highest
of 100 unrelated clips to any original, and ../shared/COMPONENTS.md's rendering case:

    mp3 64k        0.990     10 s excerpt, as mp3     0.922
    opus 24k       0.954     -6 dB                    1.000
    aac 96k        0.986     +6 dB (clipping)         0.971
    (aac 64k, speech: 0.92)  another rendering of the same MIDI 0.74
    unrelated, best offset   0.739 at most

so `NEAR_IDENTICAL` = 0.85 sits in the gap, below every copy and above a new rendering of
the same score (a different recording, not a copy). Similarity is counted only over the
query's informative words: a word equal to the one before it (silence, a held tone) says
nothing, or two silent stretches would match perfectly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assetloom.core.assets import Tier

CHROMAPRINT = "chromaprint"
"""Fingerprint kind: the raw words of the first `FINGERPRINT_SECONDS`, little-endian uint32."""
CHROMAPRINT_KEY = "chromaprint-key"
"""Fingerprint kind of the lookup keys (one catalog row each; see `index_keys`)."""

SAMPLE_RATE = 11_025
ITEM_SECONDS = 4096 / 3 / SAMPLE_RATE
"""Time between consecutive fingerprint words."""
FINGERPRINT_SECONDS = 120
"""What both sides fingerprint: an excerpt is found when it comes from the first two minutes."""

NEAR_IDENTICAL = 0.85
MIN_OVERLAP = 24
"""Informative words (3 s) two fingerprints must share before they can match, so that a
5 s clip still can (Chromaprint's filters leave ~2 s less than the audio). Chance grows as
overlaps shrink, but slowly: among 1,500 pairs of unrelated clips the best offset reached
0.73 at 16 words and 0.71 at 40."""

SILENCE = 0x256DF977
"""The word Chromaprint gives digital silence."""
KEY_MASK = 0xFEBECAEF
"""The 24 bits that survive re-encoding best (the 8 dropped flip 5-9 % of the time under
aac 64k, opus 24k and off-grid cuts, against 0.5-3 % for those kept): a copy's aligned
words then agree on all 24 kept bits 30-90 % of the time, against 9-80 % on all 32."""
PROBE_BUDGET = 160
"""Lookups per query: all of a 20 s excerpt's keys, an even spread of a longer one's."""


def words(value: bytes) -> np.ndarray:
    """A stored or query fingerprint value as its uint32 words."""
    return np.frombuffer(value, dtype="<u4").astype(np.uint32)


def to_bytes(fingerprint: np.ndarray | list[int]) -> bytes:
    return np.asarray(fingerprint, dtype="<u4").tobytes()


def informative(fp: np.ndarray) -> np.ndarray:
    """Words that differ from the one before them and are not silence."""
    keep = np.ones(len(fp), dtype=bool)
    keep[1:] = fp[1:] != fp[:-1]
    keep &= fp != SILENCE
    return keep


def _keys(fp: np.ndarray) -> np.ndarray:
    """Masked informative words, in order, that pass the key selection.

    Selecting by a hash of the key itself (half of all keys) keeps both sides consistent:
    a query key that equals a stored one is selected on both sides or on neither. Half the
    keys halves the catalog rows for half the hits; a 10 s excerpt still expects 9 or more
    hits at the worst transform measured (p = 0.3 over ~60 words)."""
    masked = (fp[informative(fp)] & np.uint32(KEY_MASK)).astype(np.uint64)
    selected = ((masked * np.uint64(0x9E3779B1)) & np.uint64(0xFFFFFFFF)) >> np.uint64(31)
    return masked[selected == 0].astype(np.uint32)


def index_keys(fp: np.ndarray) -> list[bytes]:
    """The lookup keys a stored fingerprint is filed under (each distinct key once)."""
    return [to_bytes([k]) for k in np.unique(_keys(fp))]


def probe_keys(fp: np.ndarray, budget: int = PROBE_BUDGET) -> list[bytes]:
    """The keys a query looks up: its distinct keys, spread evenly when over `budget`."""
    keys = _keys(fp)
    _, first = np.unique(keys, return_index=True)
    distinct = keys[np.sort(first)]
    if len(distinct) > budget:
        distinct = distinct[np.linspace(0, len(distinct) - 1, budget).round().astype(int)]
    return [to_bytes([k]) for k in distinct]


@dataclass(frozen=True, slots=True)
class Alignment:
    offset: int
    """Word of the stored fingerprint that the query's first word lines up with (negative:
    the query starts before the stored recording, which lies inside it)."""
    overlap: int
    """Informative query words compared."""
    similarity: float
    """Share of bits that agree over those words."""

    @property
    def start_seconds(self) -> float:
        """Where in the stored recording the query starts (0 when it starts before it)."""
        return max(0, self.offset) * ITEM_SECONDS


def best_alignment(
    query: np.ndarray, stored: np.ndarray, *, min_overlap: int = MIN_OVERLAP
) -> Alignment | None:
    """The offset where the query agrees best with `stored`, over every offset with at
    least `min_overlap` informative query words inside `stored`; None when none has.

    One XOR-popcount matrix (query words x stored words, ~1M bytes at two minutes each)
    summed along its diagonals, one diagonal per offset."""
    n, m = len(query), len(stored)
    use = informative(query)
    if n == 0 or m == 0 or int(use.sum()) < min_overlap:
        return None
    errors = np.bitwise_count(query[:, None] ^ stored[None, :])
    wrong = np.zeros(n + m - 1, dtype=np.int64)
    counted = np.zeros(n + m - 1, dtype=np.int64)
    for i in np.flatnonzero(use):
        # Query word i against stored word j is offset j - i, at slot j - i + n - 1.
        wrong[n - 1 - i : n - 1 - i + m] += errors[i]
        counted[n - 1 - i : n - 1 - i + m] += 1
    valid = counted >= min_overlap
    if not valid.any():
        return None
    similarity = np.where(valid, 1.0 - wrong / (32.0 * np.maximum(counted, 1)), -1.0)
    slot = int(np.argmax(similarity))
    return Alignment(slot - (n - 1), int(counted[slot]), float(similarity[slot]))


def audio_match(query: np.ndarray, stored: np.ndarray) -> tuple[Tier, float, Alignment] | None:
    """(tier, distance, alignment) when `query` is a copy of (part of) `stored`, else None.
    Distance is the bit error rate at the best offset."""
    found = best_alignment(query, stored)
    if found is None or found.similarity < NEAR_IDENTICAL:
        return None
    return Tier.NEAR_IDENTICAL, 1.0 - found.similarity, found
