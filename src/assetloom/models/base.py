"""The narrow interfaces the rest of AssetLoom sees; backends live in sibling modules.

Every vector that leaves an encoder is float32 and L2-normalised, so a dot product is a cosine and
the index never has to know which backend produced it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image


@runtime_checkable
class TextEncoder(Protocol):
    """Embeds text into the shared semantic space."""

    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Search queries and tag names (short, asking): shape (n, dim)."""
        ...

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Stored text (titles, descriptions, OCR, transcripts): shape (n, dim)."""
        ...


@runtime_checkable
class ImageEncoder(Protocol):
    """Embeds images into the text space of the text encoder it was built for."""

    name: str
    dim: int
    feature_dim: int
    text_encoder_name: str
    """The text encoder whose space `encode` targets; a library must pair them."""

    def encode(self, images: list[Image.Image]) -> np.ndarray:
        """Images into the shared space: shape (n, dim)."""
        ...

    def backbone_features(self, images: list[Image.Image]) -> np.ndarray:
        """Images into the visual space, for image-to-image similarity: shape (n, feature_dim)."""
        ...

    def encode_with_features(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Both of the above from one forward pass: what `add` wants per image."""
        ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Row-wise unit length in float32; zero rows stay zero instead of becoming NaN."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)
