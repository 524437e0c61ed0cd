"""The calibrated alignment score: a probability that rises with the cosine, and on real
Flickr8k dev pairs ranks a caption's own picture above another one."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetloom.core.alignment_score import calibrated
from assetloom.models.registry import get_image_encoder, get_text_encoder
from assetloom.settings import Settings


def test_monotone_and_bounded() -> None:
    xs = np.linspace(-1.0, 1.0, 201)
    ps = [calibrated(float(x)) for x in xs]
    assert all(0.0 <= p <= 1.0 for p in ps)
    assert all(b > a for a, b in itertools.pairwise(ps) if a > 0.0 and b < 1.0)
    assert all(b >= a for a, b in itertools.pairwise(ps))
    assert calibrated(-1.0) < 0.01 < 0.99 < calibrated(1.0)
    assert calibrated(-1e6) == 0.0 and calibrated(1e6) == 1.0  # no overflow at the extremes


@pytest.mark.usefixtures("understanding")
def test_matching_dev_pairs_score_higher(shared: Path) -> None:
    dev = shared / "data/flickr8k"
    rows = [json.loads(x) for x in (dev / "dev.jsonl").read_text().splitlines()[:6]]
    cache = Settings.model_fields["model_cache"].default
    images = get_image_encoder("offline", cache).encode(
        [Image.open(dev / r["image"]).convert("RGB") for r in rows]
    )
    text = get_text_encoder("offline", cache)
    for lang in ("en", "zh"):
        queries = text.encode_queries([r[f"captions_{lang}"][0] for r in rows])
        cos = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ (
            images / np.linalg.norm(images, axis=1, keepdims=True)
        ).T
        scores = np.vectorize(calibrated)(cos)
        match = np.diag(scores).mean()
        non = scores[~np.eye(len(rows), dtype=bool)].mean()
        assert match > non + 0.2, (lang, match, non)
