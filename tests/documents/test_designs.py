"""Designs: a PSD's composite, layers and text layers; an SVG rendered, its text read and
its outside references dropped; EPS through Ghostscript; and their bombs refused."""

from __future__ import annotations

import io
import shutil
import struct
from pathlib import Path

import pytest
from PIL import Image

from assetloom.core.assets import MediaType
from assetloom.ingest.extractors import design
from tests.documents.conftest import OPTS, extract, skip_reason
from tests.documents.makers import make_eps, make_psd, make_svg, poster

PICTURE_KINDS = {"pdq", "pdq_c85", "pdq_c72", "pdq_c61", "pdq_c52", "phash"}


def test_psd_composite_layers_and_text_layers(tmp_path: Path):
    rec, inputs = extract(make_psd(tmp_path / "sale.psd"))
    assert rec.media_type is MediaType.DOCUMENT and rec.mime == "image/vnd.adobe.photoshop"
    assert (rec.width, rec.height) == (480, 320)
    meta = rec.metadata
    assert (meta["format"], meta["color_mode"], meta["depth"], meta["layers"]) == (
        "PSD",
        "RGB",
        8,
        2,
    )
    assert meta["layer_names"] == ["Hero artwork", "Headline"]
    assert meta["text_layers"] == ["Summer sale 50% off"]
    assert rec.text_content == "Summer sale 50% off\nHero artwork\nHeadline"
    # The composite is the picture: the artwork's colours where it drew them.
    (picture,) = inputs.images
    assert picture.size == (480, 320) and picture.getpixel((150, 160))[:3] == (220, 20, 60)
    assert {f.kind for f in rec.fingerprints} == PICTURE_KINDS
    assert rec.thumbnail and rec.passages == []


def test_psd_bomb_refused_from_its_header(tmp_path: Path):
    header = b"8BPS" + struct.pack(">H6sHIIHH", 1, b"", 3, 30_000, 30_000, 8, 3)
    (tmp_path / "huge.psd").write_bytes(header + struct.pack(">III", 0, 0, 0) + b"\x00" * 64)
    assert skip_reason(tmp_path / "huge.psd").startswith("refused as a possible decompression")


def test_truncated_psd_is_skipped(tmp_path: Path):
    data = make_psd(tmp_path / "sale.psd").read_bytes()
    (tmp_path / "cut.psd").write_bytes(data[: len(data) // 3])
    assert "damaged" in skip_reason(tmp_path / "cut.psd")


def test_svg_rendered_with_text_title_and_size(tmp_path: Path):
    rec, inputs = extract(make_svg(tmp_path / "poster.svg"))
    assert rec.media_type is MediaType.DOCUMENT and rec.mime == "image/svg+xml"
    assert (rec.width, rec.height) == (907, 605)  # 240 x 160 mm in CSS px
    assert rec.metadata["title"] == "Harbour poster"
    assert rec.metadata["description"] == "Lighthouse and boats"
    assert rec.text_content == "Harbour festival"
    (picture,) = inputs.images
    assert picture.width == design.RENDER_BOX
    assert abs(picture.height - design.RENDER_BOX * 2 / 3) < 2
    x, y = (130 * design.RENDER_BOX // 480, 160 * design.RENDER_BOX // 480)
    assert picture.getpixel((x, y)) == (220, 20, 60, 255)
    assert {f.kind for f in rec.fingerprints} == PICTURE_KINDS
    with Image.open(io.BytesIO(rec.thumbnail or b"")) as thumb:
        assert max(thumb.size) == OPTS.thumbnail_size


def test_svg_references_outside_the_file_are_dropped(tmp_path: Path):
    secret = tmp_path / "secret.png"
    Image.new("RGB", (480, 320), "lime").save(secret)
    extra = (
        f'<image href="{secret}" width="480" height="320"/>'
        f'<image xlink:href="file://{secret}" width="480" height="320"/>'
        '<image href="https://example.com/x.png" width="10" height="10"/>'
    )
    rec, inputs = extract(make_svg(tmp_path / "nosy.svg", extra))
    assert rec.metadata["external_references_dropped"] == 3
    colours = {c for _, c in inputs.images[0].getcolors(1 << 20) or []}
    assert (0, 255, 0, 255) not in colours  # the server's own file was not drawn


def test_svg_use_bomb_and_broken_svg_are_refused(tmp_path: Path):
    groups = ['<g id="l0"><rect width="1" height="1"/></g>']
    for level in range(1, 8):  # 10^7 rectangles drawn from 70 <use> elements
        uses = "".join(f'<use href="#l{level - 1}"/>' for _ in range(10))
        groups.append(f'<g id="l{level}">{uses}</g>')
    bomb = make_svg(tmp_path / "bomb.svg", f"<defs>{''.join(groups)}</defs><use href='#l7'/>")
    assert skip_reason(bomb).startswith("refused as a possible SVG bomb")
    loop = make_svg(tmp_path / "loop.svg", '<g id="a"><use href="#a"/></g>')
    assert skip_reason(loop).startswith("refused as a possible SVG bomb")
    cut = tmp_path / "cut.svg"
    cut.write_text(make_svg(tmp_path / "whole.svg").read_text()[:400])
    assert skip_reason(cut).startswith("damaged or truncated SVG")


def test_svg_entities_are_never_expanded(tmp_path: Path):
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY l0 "lol">{laughs}]>'
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&l9;</text></svg>'
    )
    (tmp_path / "laughs.svg").write_text(doc)
    assert skip_reason(tmp_path / "laughs.svg") == "refused as a possible XML entity bomb"


@pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript (gs) is not installed")
def test_eps_rendered_by_ghostscript(tmp_path: Path):
    rec, inputs = extract(make_eps(tmp_path / "logo.eps"))
    assert rec.mime == "application/postscript"
    assert rec.metadata["format"] == "EPS" and rec.metadata["title"] == "ACME logo"
    assert rec.metadata["bounding_box"] == [0.0, 0.0, 240.0, 160.0]
    (picture,) = inputs.images
    assert picture.width == design.RENDER_BOX
    assert abs(picture.height - design.RENDER_BOX * 2 / 3) < 2
    scale = design.RENDER_BOX / 240
    red = picture.getpixel((int(80 * scale), picture.height - int(80 * scale)))
    assert max(abs(a - b) for a, b in zip(red, (219, 20, 61), strict=True)) <= 3  # 0.86 of 255
    assert {f.kind for f in rec.fingerprints} == PICTURE_KINDS


def test_eps_without_ghostscript_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))
    reason = skip_reason(make_eps(tmp_path / "logo.eps"))
    assert reason.startswith("EPS/PostScript needs Ghostscript")


def test_a_design_and_its_png_export_share_their_picture_fingerprint(tmp_path: Path):
    from assetloom.core.copy_rules import image_match

    psd, _ = extract(make_psd(tmp_path / "sale.psd"))
    png = tmp_path / "export.png"
    poster().resize((960, 640)).save(png)
    query, _ = extract(png, query=True)
    assert image_match(query.fingerprints, psd.fingerprints) is not None
