"""Decoding an image the way the models saw it at ingest, wherever a vector is made.

Search by example image, caption alignment and ingest must decode alike (JPEGs at a reduced
DCT scale, EXIF orientation applied, RGB), or the vectors of the same picture drift apart.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

DECODE_TARGET = (512, 512)
"""JPEG draft size: >= 512 px keeps PDQ/pHash (64/32 px) and the 256 px thumbnail exact."""


def upright_rgb(im: Image.Image) -> Image.Image:
    """An opened image decoded at the draft scale, EXIF orientation applied, RGB."""
    im.draft("RGB", DECODE_TARGET)
    return ImageOps.exif_transpose(im).convert("RGB")


def decode_for_models(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return upright_rgb(im)
