"""The invisible watermark: it survives the usual edits, names its asset, and names nothing
in a photo that never carried it. Real photos (UKBench, 640 x 480); about 1 s a decode."""

from __future__ import annotations

import io
import math
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetloom.errors import BadInputError
from assetloom.models import registry
from assetloom.provenance import watermark
from assetloom.provenance.watermark import (
    RIVAGAN,
    WATERMARK,
    WatermarkError,
    chance_within,
    max_distance,
)

UKBENCH = "data/nearduplicate/imagededup-tests/tests/data/base_images"
ASSET = "5eedc0de" + uuid.UUID(int=12345).hex[8:]
OTHERS = [uuid.UUID(int=i * 7919 + 1).hex for i in range(99)]
"""Other watermarked assets: the decode must pick ours among 100."""


def _photos(shared: Path) -> list[Path]:
    return sorted((shared / UKBENCH).glob("*.jpg"))


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


@pytest.fixture(scope="module")
def marked(shared: Path) -> tuple[Image.Image, Image.Image]:
    original = Image.open(_photos(shared)[0]).convert("RGB")
    return original, watermark.embed(original, ASSET)


def test_importing_loads_no_model() -> None:
    code = (
        "import sys, assetloom.provenance.c2pa, assetloom.provenance.watermark\n"
        "from assetloom.models import registry\n"
        "assert not registry.stats(), registry.stats()\n"
        "heavy = {'onnxruntime', 'c2pa', 'torch', 'cv2', 'imwatermark'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_mark_is_invisible_and_the_model_is_pooled(
    marked: tuple[Image.Image, Image.Image],
) -> None:
    original, out = marked
    assert out.size == original.size and out.mode == "RGB"
    diff = np.asarray(out, dtype=np.float64) - np.asarray(original, dtype=np.float64)
    psnr = 10 * math.log10(255**2 / float(np.mean(diff**2)))
    assert psnr > 38, psnr  # measured 42.4 dB on these photos
    assert any((m.task, m.backend) == (WATERMARK, RIVAGAN) for m in registry.stats())


@pytest.mark.parametrize("edit", ["none", "jpeg q70", "crop 10 %", "resize 50 %"])
def test_the_mark_survives_edits_and_names_its_asset(
    marked: tuple[Image.Image, Image.Image], edit: str
) -> None:
    out = marked[1]
    w, h = out.size
    copy = {
        "none": lambda: out,
        "jpeg q70": lambda: _jpeg(out, 70),
        "crop 10 %": lambda: out.crop((w // 20, h // 20, w - w // 20, h - h // 20)),
        "resize 50 %": lambda: out.resize((w // 2, h // 2), Image.Resampling.BICUBIC),
    }[edit]()
    found = watermark.identify(copy, [*OTHERS, ASSET])
    assert found.asset_id == ASSET, found
    assert found.bits_ok is not None and found.bits_ok >= 30 / 32
    assert found.chance is not None and found.chance < 1e-3


def test_unmarked_photos_name_no_asset(shared: Path) -> None:
    """The false-positive check on real photos: none of them is near any of 100 ids."""
    candidates = [*OTHERS, ASSET]
    for path in _photos(shared)[1:6]:
        found = watermark.identify(Image.open(path), candidates)
        assert found.asset_id is None, (path.name, found)
        assert found.bits_ok is not None and found.bits_ok < 1 - max_distance(100, 1) / 32


def test_screenshot_padding_is_trimmed_before_decoding(
    marked: tuple[Image.Image, Image.Image],
) -> None:
    out = marked[1]
    w, h = out.size
    screen = Image.new("RGB", (w + 400, h + 300), (236, 236, 236))
    screen.paste(out, (200, 220))
    decoded = watermark.decode(screen)
    assert len(decoded.views) == 2  # the whole screen, then the picture inside it
    found = watermark.match(decoded, [*OTHERS, ASSET])
    assert found.asset_id == ASSET, found


def test_payload_is_the_ids_first_32_bits() -> None:
    bits = watermark.payload("5EEDC0DE" + "0" * 24)
    assert bytes(np.packbits(bits)).hex() == "5eedc0de" and len(bits) == 32
    with pytest.raises(BadInputError, match="not an asset id"):
        watermark.payload("not-hex!")


def test_the_threshold_keeps_chance_matches_rare() -> None:
    assert chance_within(0) == 2**-32 and chance_within(32) == 1.0
    for candidates in (1, 10, 100, 1000, 10**4, 10**5):
        for views in (1, 2):
            t = max_distance(candidates, views)
            assert candidates * views * chance_within(t) <= watermark.FALSE_MATCH_BUDGET
            assert candidates * views * chance_within(t + 1) > watermark.FALSE_MATCH_BUDGET
    assert max_distance(1) == 6 and max_distance(100) == 4 and max_distance(10**7) == -1


def test_ties_and_no_candidates_name_nothing() -> None:
    bits = watermark.payload(ASSET)
    decoded = watermark.Decoded((bits,))
    assert watermark.match(decoded, []).bits_ok is None
    assert watermark.match(decoded, [ASSET]).asset_id == ASSET
    twin = ASSET[:8] + "f" * 24  # another id with the same first 32 bits
    tied = watermark.match(decoded, [ASSET, twin])
    assert tied.asset_id is None and tied.bits_ok == 1.0


def test_small_images_are_refused_and_alpha_is_kept(shared: Path) -> None:
    with pytest.raises(WatermarkError, match="too small"):
        watermark.embed(Image.new("RGB", (255, 256)), ASSET)
    assert not watermark.can_carry(200, 300) and watermark.can_carry(256, 256)
    rgba = Image.open(_photos(shared)[1]).convert("RGBA").resize((320, 240))
    alpha = Image.linear_gradient("L").resize((320, 240))
    rgba.putalpha(alpha)
    out = watermark.embed(rgba, ASSET)
    assert out.mode == "RGBA" and out.getchannel("A").tobytes() == alpha.tobytes()


def test_the_record_lists_each_watermarked_id_once(tmp_path: Path) -> None:
    assert watermark.recorded(tmp_path) == []
    for asset_id in (ASSET, OTHERS[0], ASSET.upper()):
        watermark.record(tmp_path, asset_id)
    assert watermark.recorded(tmp_path) == [ASSET, OTHERS[0]]
    assert oct((tmp_path / watermark.RECORD_FILE).stat().st_mode & 0o777) == "0o600"
    with pytest.raises(BadInputError):
        watermark.record(tmp_path, "../etc")
