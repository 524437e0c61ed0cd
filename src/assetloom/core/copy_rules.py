"""When is a suspect image the same picture as a library image? Pure rules over fingerprints.

`ingest.image_fingerprints` stores PDQ of each library image and of centre crops at
`CROP_SCALES`, plus pHash; a suspect file is probed with PDQ of dihedral turns, slight crops
(`QUERY_CROPS`), slight de-rotations (`QUERY_ROTATIONS`) and trimmed or screenshot-extracted
versions of itself. The rule looks at the closest pair of PDQ codes between the two sets:

- distance <= PDQ_ALONE (44 of 256 bits), both codes of trusted quality -> near-identical;
- distance <= PDQ_WITH_PHASH (60) and the closest pHash pair <= PHASH_CONFIRM (12 of 64)
  -> near-identical (overlays: an emoji or logo over the subject moves PDQ to ~50);
- anything else: no match here (embeddings decide "similar" elsewhere).

Why these numbers (docs/copy-detection.md has the tables; Flickr8k dev split, 224 px):
- Unrelated photos: over 1,000 train images probed against 1,000 dev originals with every
  variant pair, the closest PDQ pair was 76 bits; the closest pHash pair 12. Different UKBench
  views of one object: 94 or more. PDQ_ALONE = 44 keeps 32 bits of margin below the nearest
  unrelated pair; PDQ_WITH_PHASH = 60 keeps 16, and needs a second, independent hash to agree.
- Copies: resize/JPEG/colour/flip p95 <= 22; 10 %/25 % centre crops p95 30/36 through the crop
  grid; 5° rotation p95 <= 40 through the de-rotation grid; text/logo overlays p50 24-30,
  p95 42-50 (hence the pHash-confirmed band).
- PDQ's quality (gradient energy, 0-100) below 50 marks a flat image whose hash is mostly noise;
  such a pair is only trusted with pHash agreement, as PDQ's authors advise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assetloom.core.assets import Family, Fingerprint, Tier

# Stored centre crops, a geometric ladder (each 85 % of the previous): with QUERY_CROPS any centre
# crop keeping 50-100 % of the width lands within ~3 % of some stored scale (PDQ moves ~30 bits
# at 3 %). The ladder deliberately avoids the bench's own 90 % / 75 % crops.
CROP_SCALES = (0.85, 0.72, 0.61, 0.52)
QUERY_CROPS = (0.94, 0.88)
# A 2° grid: a copy rotated by up to ±7° is within 1° of a probe (PDQ moves ~20 bits per degree).
# Each probe is then centre-cropped to ROTATION_CROP, cutting the filled corners, and meets the
# stored crop of that scale.
QUERY_ROTATIONS = (-6, -4, -2, 2, 4, 6)
ROTATION_CROP = 0.85

PDQ_ALONE = 44
PDQ_WITH_PHASH = 60
PHASH_CONFIRM = 12
PDQ_MIN_QUALITY = 50

# Index search radius per fingerprint family (kind prefix): the widest distance any rule accepts.
SEARCH_RADIUS = {Family.PDQ: PDQ_WITH_PHASH}


def crop_kind(scale: float) -> str:
    """Stored kind of the centre crop keeping `scale` of width and height, e.g. "pdq_c85"."""
    return f"pdq_c{round(scale * 100)}"


def image_match(
    query: Sequence[Fingerprint], stored: Sequence[Fingerprint]
) -> tuple[Tier, float] | None:
    """(NEAR_IDENTICAL, PDQ distance in bits) when `query` is a copy of `stored`, else None.

    Exact (same SHA-256) is the caller's business: it needs no fingerprints.
    """
    q_pdq = [f for f in query if f.kind.startswith("pdq")]
    s_pdq = [f for f in stored if f.kind.startswith("pdq")]
    if not q_pdq or not s_pdq:
        return None
    dist = hamming_matrix([f.value for f in q_pdq], [f.value for f in s_pdq])
    trusted = np.outer(
        [_trusted(f) for f in q_pdq], [_trusted(f) for f in s_pdq]
    )  # both sides of a pair must be trusted for PDQ alone
    best_alone = int(dist[trusted].min()) if trusted.any() else None
    if best_alone is not None and best_alone <= PDQ_ALONE:
        return Tier.NEAR_IDENTICAL, float(best_alone)
    best = int(dist.min())
    if best <= PDQ_WITH_PHASH and _phash_distance(query, stored) <= PHASH_CONFIRM:
        return Tier.NEAR_IDENTICAL, float(best)
    return None


def hamming_matrix(a: Sequence[bytes], b: Sequence[bytes]) -> np.ndarray:
    """Pairwise Hamming distances between two lists of equal-width codes."""
    x = np.frombuffer(b"".join(a), dtype=np.uint8).reshape(len(a), -1)
    y = np.frombuffer(b"".join(b), dtype=np.uint8).reshape(len(b), -1)
    return np.unpackbits(x[:, None, :] ^ y[None, :, :], axis=2).sum(axis=2, dtype=np.int32)


def _trusted(fp: Fingerprint) -> bool:
    return fp.quality is None or fp.quality >= PDQ_MIN_QUALITY


def _phash_distance(query: Sequence[Fingerprint], stored: Sequence[Fingerprint]) -> int:
    q = [f.value for f in query if f.kind.startswith("phash")]
    s = [f.value for f in stored if f.kind.startswith("phash")]
    if not q or not s:
        return 64
    return int(hamming_matrix(q, s).min())
