"""The Gram-matrix style distance on real Flickr8k dev photos, and in the studio's report."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from assetloom.app.library import Library
from assetloom.app.studio import Request, Studio
from assetloom.create.generators.image_compose import reinhard
from assetloom.models.errors import ModelError
from assetloom.models.style import style_distance

N_PHOTOS = 8


@pytest.fixture(scope="module")
def photos(shared: Path) -> list[Image.Image]:
    data = shared / "data" / "flickr8k"
    lines = (data / "dev.jsonl").read_text(encoding="utf-8").splitlines()[:N_PHOTOS]
    return [Image.open(data / json.loads(line)["image"]).convert("RGB") for line in lines]


def test_a_picture_is_at_zero_from_itself(photos: list[Image.Image]) -> None:
    for photo in photos[:3]:
        assert style_distance(photo, photo) == pytest.approx(0.0, abs=1e-6)


def test_symmetric_finite_and_in_range(photos: list[Image.Image]) -> None:
    a, b = photos[0], photos[1]
    ab, ba = style_distance(a, b), style_distance(b, a)
    assert np.isfinite(ab) and 0.0 < ab <= 2.0
    assert ab == pytest.approx(ba, rel=1e-3)
    # A mirror image has the same Grams up to the conv filters' asymmetry: far closer than b.
    assert style_distance(a, ImageOps.mirror(a)) < ab / 3


def test_recoloured_to_the_style_is_closer_than_an_unrelated_photo(
    photos: list[Image.Image],
) -> None:
    styled, unrelated = [], []
    for i, photo in enumerate(photos):
        style, other = photos[(i + 1) % N_PHOTOS], photos[(i + 3) % N_PHOTOS]
        styled.append(style_distance(reinhard(photo, style), style))
        unrelated.append(style_distance(other, style))
        # The recoloured copy also moves towards the style from where the photo started.
        assert styled[-1] < style_distance(photo, style)
    assert np.mean(styled) < np.mean(unrelated)


def test_bytes_in_and_a_clear_error_for_non_images(photos: list[Image.Image]) -> None:
    buf = io.BytesIO()
    photos[0].save(buf, "PNG")
    assert style_distance(buf.getvalue(), photos[0]) == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(ModelError, match="needs an image"):
        style_distance(b"not an image", photos[0])


@pytest.fixture
def lib(tmp_path: Path, understanding: None) -> Iterator[Library]:
    with Library.create(tmp_path / "lib") as lib:
        lib.settings = lib.settings.model_copy(update={"workers": 1})
        yield lib


def test_the_studio_reports_the_distance_to_its_style_reference(
    lib: Library, tmp_path: Path, photos: list[Image.Image]
) -> None:
    style = tmp_path / "style.jpg"
    photos[2].save(style)
    brief = "A bottle by the sea"
    doc = Studio(lib).create(Request(brief, style_ref=style, outputs=["image"], formats=["1:1"]))
    d = doc["outputs"][0]["quality"]["style_distance"]
    assert 0.0 <= d < 1.0
    doc = Studio(lib).create(Request(brief, outputs=["image"], formats=["1:1"]))
    assert "style_distance" not in doc["outputs"][0]["quality"]
