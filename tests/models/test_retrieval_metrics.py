"""Recall@K / MRR on hand-checkable matrices."""

from __future__ import annotations

import numpy as np
import pytest

from assetloom.core.retrieval_metrics import retrieval_metrics


def test_perfect_retrieval_scores_one() -> None:
    image_of_text = np.repeat(np.arange(4), 5)
    sim = np.eye(4)[image_of_text]
    out = retrieval_metrics(sim, image_of_text)
    assert out["text_to_image"] == {"R@1": 1.0, "R@5": 1.0, "R@10": 1.0, "MRR": 1.0}
    assert out["image_to_text"]["R@1"] == 1.0
    assert (out["images"], out["queries"]) == (4, 20)


def test_ranks_by_hand() -> None:
    # 3 images, 2 captions each. Caption 0 ranks its image 2nd, caption 3 ranks its image 3rd.
    sim = np.array(
        [
            [0.5, 0.9, 0.1],  # image 0: rank 2
            [0.9, 0.1, 0.1],  # image 0: rank 1
            [0.1, 0.9, 0.1],  # image 1: rank 1
            [0.8, 0.7, 0.1],  # image 1: rank 2
            [0.3, 0.8, 0.2],  # image 2: rank 3
            [0.1, 0.2, 0.3],  # image 2: rank 1
        ]
    )
    out = retrieval_metrics(sim, [0, 0, 1, 1, 2, 2], ks=(1, 2))
    t2i = out["text_to_image"]
    assert t2i["R@1"] == pytest.approx(3 / 6)
    assert t2i["R@2"] == pytest.approx(5 / 6)
    assert t2i["MRR"] == pytest.approx((1 / 2 + 1 + 1 + 1 / 2 + 1 / 3 + 1) / 6)
    # Image → text, per column: image 0's best caption scores 0.9 and no other caption reaches
    # it (rank 1); image 1's best is 0.9 but caption 0 ties it and the tie counts against it
    # (rank 2); image 2's best is 0.3 and no other caption reaches it (rank 1).
    i2t = out["image_to_text"]
    assert i2t["R@1"] == pytest.approx(2 / 3)
    assert i2t["MRR"] == pytest.approx((1 + 1 / 2 + 1) / 3)


def test_collapsed_encoder_gets_worst_rank() -> None:
    sim = np.ones((10, 5))
    out = retrieval_metrics(sim, np.repeat(np.arange(5), 2))
    assert out["text_to_image"]["R@1"] == 0.0
    assert out["text_to_image"]["MRR"] == pytest.approx(1 / 5)


def test_random_scores_near_chance() -> None:
    rng = np.random.default_rng(0)
    sim = rng.standard_normal((5000, 1000))
    out = retrieval_metrics(sim, np.repeat(np.arange(1000), 5))
    assert out["text_to_image"]["R@10"] == pytest.approx(0.01, abs=0.005)


@pytest.mark.parametrize(
    ("sim", "gt"),
    [
        (np.zeros((3,)), [0, 1, 2]),
        (np.zeros((3, 2)), [0, 1]),
        (np.zeros((3, 2)), [0, 1, 2]),
        (np.zeros((3, 3)), [0, 0, 1]),
        (np.full((2, 2), np.nan), [0, 1]),
    ],
)
def test_bad_input_is_rejected(sim: np.ndarray, gt: list[int]) -> None:
    with pytest.raises(ValueError):
        retrieval_metrics(sim, gt)
