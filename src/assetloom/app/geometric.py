"""Geometric verification for `verify` and `duplicates`: a few candidates per file that the
hashes missed (PDQ near misses, backbone neighbours) are checked with local features, and
promoted to near-identical when `core.copy_rules.geometric_match` says the pictures map onto
each other.

A library image's keypoints are read from the derived file `<sha256>/keypoints.orb` when
one exists (`duplicates` writes it at an asset's first comparison); otherwise the candidate's
original is decoded (a few ms for a thumbnail-sized photo, tens for a 12 MP JPEG at its
reduced DCT scale) and nothing is written: verify stays a read, and `add` keeps its cost and
its derived files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PIL import Image, ImageOps, UnidentifiedImageError

from assetloom.blobs.base import BlobStore
from assetloom.core import copy_rules
from assetloom.core.assets import Asset, MediaType
from assetloom.core.copy_rules import GeometricEvidence
from assetloom.errors import AssetLoomError
from assetloom.ingest.decode import DECODE_TARGET
from assetloom.ingest.keypoints import (
    KEYPOINTS,
    KEYPOINTS_REGION,
    Keypoints,
    geometric_evidence,
    keypoints_of_image,
)


def candidates(near_misses: dict[str, float], neighbours: Iterable[tuple[str, float]]) -> list[str]:
    """The closest PDQ near misses and the most similar backbone neighbours, bounded."""
    by_pdq = sorted(near_misses, key=lambda a: (near_misses[a], a))[
        : copy_rules.GEOMETRIC_CANDIDATES
    ]
    by_vector = [
        a
        for a, cosine in sorted(neighbours, key=lambda x: -x[1])
        if cosine >= copy_rules.GEOMETRIC_MIN_COSINE and a not in by_pdq
    ][: copy_rules.GEOMETRIC_CANDIDATES]
    return by_pdq + by_vector


class Verifier:
    """Checks query keypoints against library assets' keypoints (cached per asset)."""

    def __init__(self, blobs: BlobStore, derived: BlobStore) -> None:
        self.blobs = blobs
        self.derived = derived
        self._cache: dict[str, Keypoints | None] = {}

    def evidence(self, queries: Sequence[Keypoints], asset: Asset) -> GeometricEvidence | None:
        """The best evidence of any of the query's keypoint sets (`query_keypoints`)."""
        stored = self.keypoints(asset)
        if stored is None:
            return None
        return best_evidence(geometric_evidence(q, stored) for q in queries)

    def keypoints(self, asset: Asset) -> Keypoints | None:
        """The asset's stored keypoints, or those of its decoded original; None when it is not
        a picture or cannot be read."""
        if asset.media_type is not MediaType.IMAGE:
            return None
        if asset.sha256 not in self._cache:
            self._cache[asset.sha256] = self._load(asset.sha256)
        return self._cache[asset.sha256]

    def _load(self, sha256: str) -> Keypoints | None:
        key = f"{sha256}/{KEYPOINTS}"
        if self.derived.exists(key):
            found = Keypoints.unpack(self.derived.read_bytes(key))
            if found is not None:
                return found
        try:
            with self.blobs.open(sha256) as f, Image.open(f) as im:
                im.draft("RGB", DECODE_TARGET)
                im.load()
                return keypoints_of_image(ImageOps.exif_transpose(im))
        except (AssetLoomError, UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return None


def query_keypoints(derived: dict[str, bytes]) -> list[Keypoints]:
    """A prepared query's keypoint sets: the picture's, then its extracted region's (a
    screenshot's or meme's picture, whose features the page does not dilute) when it has one."""
    out = []
    for key in (KEYPOINTS, KEYPOINTS_REGION):
        data = derived.get(key)
        found = Keypoints.unpack(data) if data else None
        if found is not None:
            out.append(found)
    return out


def best_evidence(found: Iterable[GeometricEvidence | None]) -> GeometricEvidence | None:
    """The evidence that passes `copy_rules.geometric_match` with the most inliers, else the
    one with the most inliers (None when there is none)."""
    ranked = [e for e in found if e is not None]
    if not ranked:
        return None
    return max(ranked, key=lambda e: (copy_rules.geometric_match(e), e.inliers))
