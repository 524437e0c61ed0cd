"""Recall@K and MRR for cross-modal retrieval, from a similarity matrix (numpy only).

Used by `assetloom eval retrieval` and by the alignment-head training tool, so the figures in the
model card and the ones a user measures come from the same code.

Conventions (the usual ones for Flickr8k/30k and COCO, e.g. Karpathy & Fei-Fei 2015):
- text→image: every caption is a query with exactly one relevant image;
- image→text: every image is a query, relevant to all of its captions; its rank is that of its
  best-ranked caption;
- ties count against the relevant item, so a collapsed encoder that scores everything alike gets
  the worst rank, not the best.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_KS = (1, 5, 10)


def _summary(ranks: np.ndarray, ks: Sequence[int]) -> dict[str, float]:
    out = {f"R@{k}": float(np.mean(ranks <= k)) for k in ks}
    out["MRR"] = float(np.mean(1.0 / ranks))
    return out


def text_to_image_ranks(similarity: np.ndarray, image_of_text: np.ndarray) -> np.ndarray:
    """1-based rank of each caption's image among all images."""
    rows = np.arange(similarity.shape[0])
    relevant = similarity[rows, image_of_text]
    others_at_least = (similarity >= relevant[:, None]).sum(axis=1) - 1
    return others_at_least + 1


def image_to_text_ranks(similarity: np.ndarray, image_of_text: np.ndarray) -> np.ndarray:
    """1-based rank of each image's best caption among all captions."""
    n_images = similarity.shape[1]
    own = image_of_text[:, None] == np.arange(n_images)[None, :]  # (texts, images)
    best_own = np.where(own, similarity, -np.inf).max(axis=0)
    others_at_least = ((similarity >= best_own[None, :]) & ~own).sum(axis=0)
    return others_at_least + 1


def retrieval_metrics(
    similarity: np.ndarray,
    image_of_text: Sequence[int] | np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
) -> dict[str, object]:
    """Both directions from one (n_texts, n_images) similarity matrix.

    `image_of_text[j]` is the column of the image that caption `j` describes. Recalls are
    fractions in [0, 1]. Returns `{"text_to_image": {"R@1", "R@5", "R@10", "MRR"},
    "image_to_text": {...}, "images": n_images, "queries": n_texts}`.
    """
    similarity = np.asarray(similarity, dtype=np.float32)
    image_of_text = np.asarray(image_of_text, dtype=np.int64)
    if similarity.ndim != 2 or image_of_text.shape != (similarity.shape[0],):
        raise ValueError(
            f"similarity must be (texts, images) and image_of_text (texts,); got "
            f"{similarity.shape} and {image_of_text.shape}"
        )
    n_texts, n_images = similarity.shape
    if n_texts and (image_of_text.min() < 0 or image_of_text.max() >= n_images):
        raise ValueError(f"image_of_text must index the {n_images} image columns")
    if np.isnan(similarity).any():
        raise ValueError("similarity contains NaN")
    described = np.bincount(image_of_text, minlength=n_images) > 0
    if not described.all():
        raise ValueError(f"{int((~described).sum())} images have no caption")
    return {
        "text_to_image": _summary(text_to_image_ranks(similarity, image_of_text), ks),
        "image_to_text": _summary(image_to_text_ranks(similarity, image_of_text), ks),
        "images": int(n_images),
        "queries": int(n_texts),
    }
