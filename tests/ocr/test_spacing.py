"""Putting back the spaces PP-OCRv4 drops between Latin words, from the line's own pixels."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from assetloom.models.ocr.spacing import restore_spaces
from tests.ocr.pictures import font


def _line(text: str, size: int = 28, background: str = "white") -> tuple[np.ndarray, list[float]]:
    """A line crop as the recogniser gets it, and each character's centre x in it."""
    face = font(size)
    width = int(face.getlength(text)) + 20
    image = Image.new("RGB", (width, size + 12), background)
    ImageDraw.Draw(image).text((10, 4), text, font=face, fill="black")
    centres = [
        10 + (face.getlength(text[:i]) + face.getlength(text[: i + 1])) / 2
        for i in range(len(text))
    ]
    return np.asarray(image)[:, :, ::-1].copy(), centres


def _drop_spaces(text: str, centres: list[float]) -> tuple[str, list[float]]:
    kept = [(ch, x) for ch, x in zip(text, centres, strict=True) if ch != " "]
    return "".join(ch for ch, _ in kept), [x for _, x in kept]


def test_spaces_between_words_come_back() -> None:
    crop, centres = _line("Summer Sale 20% off")
    joined, where = _drop_spaces("Summer Sale 20% off", centres)
    assert joined == "SummerSale20%off"
    assert restore_spaces(joined, where, crop) == "Summer Sale 20% off"


def test_letters_inside_a_word_stay_together() -> None:
    crop, centres = _line("wallet illicit")
    assert restore_spaces("wallet illicit", centres, crop) == "wallet illicit"
    joined, where = _drop_spaces("wallet illicit", centres)
    assert restore_spaces(joined, where, crop) == "wallet illicit"


def test_chinese_gets_no_spaces() -> None:
    crop, centres = _line("夏季新品 限时八折")
    joined, where = _drop_spaces("夏季新品 限时八折", centres)
    assert restore_spaces(joined, where, crop) == "夏季新品限时八折"


def test_a_busy_background_changes_nothing() -> None:
    crop, centres = _line("Summer Sale")
    noise = np.random.default_rng(1).integers(0, 256, crop.shape, dtype=np.uint8)
    busy = np.where(crop < 128, crop, noise)
    joined, where = _drop_spaces("Summer Sale", centres)
    assert restore_spaces(joined, where, busy) == joined
