"""Local features for geometric verification: ORB keypoints of a picture, packed as a small
derived file, and the RANSAC evidence that one picture maps onto another.

Global hashes (PDQ, pHash) break when a copy is cropped from one side, turned with its canvas
expanded, or carries a caption bar or a large logo; the pixels that remain still sit where the
original had them, up to one similarity transform. ORB finds that transform: the evidence
(inliers, the share of the query they explain, residual, scale) goes to the pure rule
`core.copy_rules.geometric_match`. Measured figures are in docs/copy-detection.md.

A query's keypoints (and its extracted region's, `KEYPOINTS_REGION`) are computed with its
other probes (about 10 ms each at WORK_SIZE on a quiet core); a library image's when a check
first needs them, from its original, and kept as the derived file `<sha256>/keypoints.orb` by
`duplicates` (`app/geometric.py`).
"""

from __future__ import annotations

import struct

import cv2
import numpy as np
from PIL import Image

from assetloom.core.copy_rules import GeometricEvidence

KEYPOINTS = "keypoints.orb"
KEYPOINTS_REGION = "keypoints_region.orb"
"""A query's second set (never stored): the features of its extracted picture region. In a
screenshot the picture is ~40 % of the frame at ~0.55x, so the whole frame's 400 features
put ~40 on it and explain ~10 % of the query; the region's explain 20-60 %, as a crop's do."""
WORK_SIZE = 320
"""Long side the features are found on: enough for 224 px thumbnails and 12 MP photos alike."""
FEATURES = 400
_GRID = 4
"""Features are kept per cell of a _GRID x _GRID grid, so that a textured corner or a caption's
letters cannot take them all and their hull says how much of the picture agrees."""
_DETECT = 2000
_RATIO = 0.8
_RANSAC_PX = 3.0
_MAGIC = b"ORB1"
_HEADER = struct.Struct("<4sHHH")
_MIN_MATCHES = 6


class Keypoints:
    """Positions (in a WORK_SIZE rendition, `size` its width and height) and ORB descriptors."""

    __slots__ = ("descriptors", "points", "size")

    def __init__(self, points: np.ndarray, descriptors: np.ndarray, size: tuple[int, int]) -> None:
        self.points = points.astype(np.float32).reshape(-1, 2)
        self.descriptors = descriptors.astype(np.uint8).reshape(-1, 32)
        self.size = size

    def __len__(self) -> int:
        return len(self.points)

    def pack(self) -> bytes:
        """Header, float16 positions, 32-byte descriptors: ~14 KB for 400 features."""
        w, h = self.size
        head = _HEADER.pack(_MAGIC, w, h, len(self))
        return head + self.points.astype(np.float16).tobytes() + self.descriptors.tobytes()

    @classmethod
    def unpack(cls, data: bytes) -> Keypoints | None:
        """None for anything that is not a keypoint file of this version."""
        if len(data) < _HEADER.size:
            return None
        magic, w, h, n = _HEADER.unpack_from(data)
        if magic != _MAGIC or len(data) != _HEADER.size + n * (4 + 32):
            return None
        off = _HEADER.size
        pts = np.frombuffer(data, np.float16, 2 * n, off).astype(np.float32)
        desc = np.frombuffer(data, np.uint8, 32 * n, off + 4 * n)
        return cls(pts, desc, (w, h))


_orb = None


def _detector() -> cv2.ORB:
    global _orb
    if _orb is None:
        cv2.setNumThreads(1)  # a few ms of work: thread start-up would cost more
        _orb = cv2.ORB_create(nfeatures=_DETECT, fastThreshold=8, edgeThreshold=15)
    return _orb


def keypoints_of_image(img: Image.Image) -> Keypoints:
    """ORB features of the picture scaled so its long side is WORK_SIZE (up or down)."""
    grey = img.convert("L")
    scale = WORK_SIZE / max(grey.size)
    w, h = max(1, round(grey.width * scale)), max(1, round(grey.height * scale))
    grey = grey.resize((w, h), Image.Resampling.BILINEAR)
    kps, desc = _detector().detectAndCompute(np.asarray(grey), None)
    if desc is None or not kps:
        return Keypoints(np.zeros((0, 2)), np.zeros((0, 32)), (w, h))
    pts = np.array([k.pt for k in kps], dtype=np.float32)
    keep = _spread(pts, np.array([k.response for k in kps]), (w, h))
    return Keypoints(pts[keep], desc[keep], (w, h))


def _spread(pts: np.ndarray, response: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Indexes of the strongest features per grid cell, FEATURES in all; cells with fewer
    leave their share to the others."""
    cell = (
        np.minimum(pts[:, 0] * _GRID // size[0], _GRID - 1) * _GRID
        + np.minimum(pts[:, 1] * _GRID // size[1], _GRID - 1)
    ).astype(int)
    order = np.lexsort((-response, cell))
    rank = np.empty(len(pts), dtype=int)
    start = 0
    for n in np.unique(cell[order], return_counts=True)[1]:
        rank[order[start : start + n]] = np.arange(n)
        start += n
    quota = FEATURES // (_GRID * _GRID)
    first = np.flatnonzero(rank < quota)
    rest = np.flatnonzero(rank >= quota)
    rest = rest[np.argsort(-response[rest])][: max(0, FEATURES - len(first))]
    return np.sort(np.concatenate([first, rest]))


def geometric_evidence(query: Keypoints, stored: Keypoints) -> GeometricEvidence | None:
    """The best similarity transform from query to stored points (RANSAC), or None when too
    few features agree to fit one."""
    if len(query) < _MIN_MATCHES or len(stored) < _MIN_MATCHES:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(query.descriptors, stored.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
    if len(good) < _MIN_MATCHES:
        return None
    src = query.points[[m.queryIdx for m in good]]
    dst = stored.points[[m.trainIdx for m in good]]
    # Both sides are at WORK_SIZE, so one pixel tolerance fits every resolution; a fixed seed
    # makes the same pair give the same evidence on every run.
    cv2.setRNGSeed(0)
    matrix, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=_RANSAC_PX, maxIters=2000
    )
    if matrix is None or mask is None:
        return None
    keep = mask.ravel().astype(bool)
    if keep.sum() < 3:
        return None
    projected = src[keep] @ matrix[:, :2].T + matrix[:, 2]
    residual = float(np.median(np.linalg.norm(projected - dst[keep], axis=1)))
    return GeometricEvidence(
        inliers=int(keep.sum()),
        matches=len(good),
        query_share=float(keep.sum()) / len(query),
        scale=float(np.sqrt(abs(np.linalg.det(matrix[:, :2])))),
        residual=residual,
    )
