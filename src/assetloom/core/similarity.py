"""When two assets are "visually similar" (same subject or scene, not a copy).

Cosine similarity of backbone features (images) or of shared-space text vectors (documents).
The image threshold separates different views of one object (UKBench) from unrelated photos;
see docs/copy-detection.md for the measurement. Near-identical copies are decided by
perceptual hashes first, so this tier only ever adds matches below them.
"""

from __future__ import annotations

SIMILAR_IMAGE_MIN_COSINE = 0.75
SIMILAR_TEXT_MIN_COSINE = 0.90
CANDIDATES = 20


def is_similar(cosine: float, *, image: bool) -> bool:
    return cosine >= (SIMILAR_IMAGE_MIN_COSINE if image else SIMILAR_TEXT_MIN_COSINE)
