"""Near-duplicate rules for text documents: normalisation, shingles, SimHash, MinHash Jaccard.

Two documents are near-identical when their normalised text is equal, or when their SimHash
codes are close (the fast candidate filter) and their MinHash Jaccard estimate is high (the
check). Thresholds follow Manku et al. (SimHash, k=3 of 64 bits for web duplicates) loosened
to 8 bits because the Jaccard check keeps precision.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

SIMHASH_MAX_DISTANCE = 8
MIN_JACCARD = 0.8
SHINGLE = 3

_WS = re.compile(r"\s+")
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: what survives copy-paste and re-typing."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def shingles(text: str) -> set[str]:
    """Word 3-grams; CJK characters count as words, so Chinese text shingles too."""
    tokens = _TOKEN.findall(normalise(text))
    if len(tokens) < SHINGLE:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}


def simhash64(features: set[str]) -> bytes:
    """Charikar's SimHash over shingles, 8 bytes big-endian."""
    if not features:
        return bytes(8)
    hashes = np.frombuffer(
        b"".join(hashlib.blake2b(f.encode(), digest_size=8).digest() for f in features),
        dtype=">u8",
    )
    bits = ((hashes[:, None] >> np.arange(63, -1, -1, dtype=np.uint64)) & 1).astype(np.int32)
    votes = (2 * bits - 1).sum(axis=0)
    return np.packbits(votes > 0).tobytes()


def hamming(a: bytes, b: bytes) -> int:
    return int.from_bytes(a, "big").__xor__(int.from_bytes(b, "big")).bit_count()


def jaccard_estimate(minhash_a: bytes, minhash_b: bytes) -> float:
    a = np.frombuffer(minhash_a, dtype="<u4")
    b = np.frombuffer(minhash_b, dtype="<u4")
    if a.size == 0 or a.size != b.size:
        return 0.0
    return float(np.mean(a == b))


def is_near_duplicate(simhash_distance: int, jaccard: float) -> bool:
    return simhash_distance <= SIMHASH_MAX_DISTANCE and jaccard >= MIN_JACCARD
