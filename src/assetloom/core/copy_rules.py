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
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class GeometricEvidence:
    """What local features say about a query/stored pair (`ingest.keypoints`): the RANSAC
    similarity transform from query to stored points and how well it holds."""

    inliers: int
    """Feature matches the transform explains (within 3 px at 320 px)."""
    matches: int
    """Matches that passed the ratio test, before RANSAC."""
    query_share: float
    """Share of the query's features that are inliers. Features are spread over a 4x4 grid,
    so this is the share of the query's picture that the library image explains. A
    screenshot's or meme's query is also checked as its extracted region (its own features,
    none on the page around it), so a picture pasted into a page is held to the same bar."""
    scale: float
    residual: float
    """Median distance in pixels (at 320 px) between mapped and matched points."""


# Geometric verification (issue #14). Measured on 150 Flickr8k dev originals x 16 real edits
# (one-sided crops 10-30 %, corner logos, turns with the canvas expanded, caption bars, mixes)
# against 3 other originals each, 45 UKBench pairs of different objects and 98 burst-like
# pairs (consecutive Flickr photo ids: the same photographer, seconds apart):
# - copies: inliers >= 52 and share >= 0.20 in every edit's worst case but a few; a 30 % crop
#   keeps share 0.39-0.84, a 10° turn with its canvas expanded 0.21-0.5;
# - different photos: share <= 0.15 (a burst pair of a static scene: 61 inliers, 0.15), the
#   nearest other original 0.06; degenerate fits (scale ~0) on UKBench. Over 131 burst-like
#   pairs (ids up to 300 apart), with the region sets of the 50 photos that have one: 0.16.
# - JPEG screenshots (150 dev): the whole screen's share is 0.06-0.26 (18 of 150 pass: the
#   page holds ~half the features), its extracted region's passes for 150 of 150.
GEOMETRIC_MIN_INLIERS = 40
GEOMETRIC_MIN_SHARE = 0.2
GEOMETRIC_MAX_RESIDUAL = 1.5
GEOMETRIC_SCALE = (0.33, 3.0)
GEOMETRIC_CANDIDATES = 3
"""Per file, at most this many PDQ near misses and this many backbone neighbours are checked."""
GEOMETRIC_MIN_COSINE = 0.5
"""Backbone neighbours below this are not worth a check (unrelated photos score ~0.6 p50, so
this only drops the hopeless)."""


def geometric_match(evidence: GeometricEvidence | None) -> bool:
    """Is the pair the same picture, moved, cropped, turned or partly covered?

    Enough matched features must agree on one similarity transform, explain a fifth of the
    query's (grid-spread) features, fit within a pixel and a half, and keep a plausible scale.
    Different photos of one scene fail the share: the subject moved or the view changed, so
    only part of the background agrees.
    """
    if evidence is None:
        return False
    lo, hi = GEOMETRIC_SCALE
    return (
        evidence.inliers >= GEOMETRIC_MIN_INLIERS
        and evidence.query_share >= GEOMETRIC_MIN_SHARE
        and evidence.residual <= GEOMETRIC_MAX_RESIDUAL
        and lo <= evidence.scale <= hi
    )


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


def closest_pdq(query: Sequence[Fingerprint], stored: Sequence[Fingerprint]) -> int:
    """The closest pair of PDQ codes in bits (256 when either side has none)."""
    q = [f.value for f in query if f.kind.startswith("pdq")]
    s = [f.value for f in stored if f.kind.startswith("pdq")]
    if not q or not s:
        return 256
    return int(hamming_matrix(q, s).min())


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
