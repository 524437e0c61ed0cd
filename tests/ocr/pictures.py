"""Pictures for the OCR and moderation tests: the bundled example photos, with text drawn on."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
"""Debian fonts-wqy-zenhei (scripts/setup.sh installs it): Chinese and Latin glyphs."""
SALE_LINES = ("夏季新品限时八折", "Zanzibar Coffee Sale")


def example(name: str) -> Image.Image:
    """A photo shipped in assetloom/examples (chelsea.jpg: a cat, no text)."""
    with resources.as_file(resources.files("assetloom.examples") / name) as path:
        return Image.open(path).convert("RGB")


def font(size: int) -> ImageFont.FreeTypeFont:
    if not CJK_FONT.is_file():
        pytest.skip(f"{CJK_FONT} is missing (apt-get install fonts-wqy-zenhei)")
    return ImageFont.truetype(str(CJK_FONT), size)


def with_text(
    base: str = "coffee.jpg", lines: tuple[str, ...] = SALE_LINES, size: int = 30
) -> Image.Image:
    """`base` with `lines` printed on a light band across its top, as on a product shot."""
    image = example(base)
    draw = ImageDraw.Draw(image)
    face = font(size)
    top = 12
    draw.rectangle((8, top - 4, image.width - 8, top + len(lines) * (size + 10)), fill="white")
    for i, line in enumerate(lines):
        draw.text(
            (16, top + i * (size + 10)), line, font=face, fill=(190, 20, 20) if i else "black"
        )
    return image
