"""When two assets are "visually similar" (same subject or scene, not a copy).

Cosine similarity of backbone features (images) or of shared-space text vectors (documents).
Measured on Flickr8k dev (EfficientNet-Lite2 features, 300 photos): the nearest *unrelated*
photo scores p50 0.62, p99 0.756, max 0.757; a copy cropped to 80 % and turned 15° scores p50
0.81 against its original (76 % of them >= 0.78); a 70 % crop turned 12°, p50 0.75. So 0.78
sits just above every unrelated pair seen: "similar" means "looks like this one", and it misses
heavier edits rather than calling strangers similar. Near-identical copies are decided by
perceptual hashes first, so this tier only ever adds matches below them.
"""

from __future__ import annotations

SIMILAR_IMAGE_MIN_COSINE = 0.78
SIMILAR_TEXT_MIN_COSINE = 0.90
CANDIDATES = 20


def is_similar(cosine: float, *, image: bool) -> bool:
    return cosine >= (SIMILAR_IMAGE_MIN_COSINE if image else SIMILAR_TEXT_MIN_COSINE)
