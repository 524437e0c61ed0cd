"""Geometric verification: copies that survive real edits (one-sided crops, corner logos,
turns with the canvas expanded, caption bars) are promoted to near-identical, and different
photos of one scene (UKBench objects, burst-like Flickr pairs) stay apart."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from assetloom.app.library import Library
from assetloom.core.assets import Tier
from assetloom.core.copy_rules import (
    GEOMETRIC_MIN_INLIERS,
    GEOMETRIC_MIN_SHARE,
    GeometricEvidence,
    geometric_match,
)
from assetloom.ingest.keypoints import Keypoints, geometric_evidence, keypoints_of_image


def _evidence(**kw: float) -> GeometricEvidence:
    base: dict = dict(inliers=120, matches=150, query_share=0.45, scale=1.0, residual=0.4)
    return GeometricEvidence(**{**base, **kw})


# ------------------------------------------------------------------ the rule (pure)
def test_a_copy_moved_cropped_or_turned_is_promoted() -> None:
    assert geometric_match(_evidence())
    assert geometric_match(_evidence(scale=1.16, residual=1.1, query_share=0.21))  # 10° expanded
    assert geometric_match(
        _evidence(inliers=GEOMETRIC_MIN_INLIERS, query_share=GEOMETRIC_MIN_SHARE)
    )


def test_what_different_photos_look_like_is_not() -> None:
    assert not geometric_match(None)
    # A burst pair of a static scene: the background agrees, the rest of the picture does not.
    assert not geometric_match(_evidence(inliers=61, matches=69, query_share=0.15, residual=0.84))
    # Few features agree, however well they fit.
    assert not geometric_match(_evidence(inliers=GEOMETRIC_MIN_INLIERS - 1, query_share=0.9))
    # A degenerate fit (all points mapped onto one spot), a loose one, an implausible zoom.
    assert not geometric_match(_evidence(scale=0.0))
    assert not geometric_match(_evidence(scale=4.0))
    assert not geometric_match(_evidence(residual=2.5))


# ------------------------------------------------------------------ real pictures
def _font(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(8, px))


def crop_left(im: Image.Image) -> Image.Image:
    return im.crop((round(im.width * 0.2), 0, im.width, im.height))


def logo_disc(im: Image.Image) -> Image.Image:
    out, s = im.copy(), round(im.width * 0.25)
    ImageDraw.Draw(out).ellipse((im.width - s - 4, 4, im.width - 4, s + 4), fill="white")
    return out


def rotate_expand(im: Image.Image) -> Image.Image:
    return im.rotate(8, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="black")


def caption_bar(im: Image.Image) -> Image.Image:
    out, top = im.copy(), round(im.height * 0.82)
    d = ImageDraw.Draw(out)
    d.rectangle((0, top, im.width, im.height), fill="black")
    d.text(
        (im.width // 2, (top + im.height) // 2),
        "Photo of the day",
        font=_font(16),
        fill="white",
        anchor="mm",
    )
    return out


EDITS = {
    "crop_left_20": crop_left,
    "logo_disc_25": logo_disc,
    "rotate_expand_8": rotate_expand,
    "caption_bar_18": caption_bar,
}


def _dev(shared: Path, n: int) -> list[Path]:
    lines = (shared / "data/flickr8k/dev.jsonl").read_text().splitlines()[:n]
    return [shared / "data/flickr8k" / json.loads(x)["image"] for x in lines]


def _ukbench(shared: Path) -> list[Path]:
    base = shared / "data/nearduplicate/imagededup-tests/tests/data/base_images"
    return sorted(base.glob("*.jpg"))


def _bursts(shared: Path, n: int) -> list[tuple[Path, Path]]:
    """Flickr photos whose ids are at most 30 apart: one photographer, seconds apart."""
    ids = []
    for split in ("dev", "train"):
        for line in (shared / "data/flickr8k" / f"{split}.jsonl").read_text().splitlines():
            name = json.loads(line)["image"]
            ids.append((int(Path(name).name.split("_")[0]), shared / "data/flickr8k" / name))
    ids.sort()
    return [(pa, pb) for (a, pa), (b, pb) in itertools.pairwise(ids) if b - a <= 30][:n]


def _kp(path: Path) -> Keypoints:
    with Image.open(path) as im:
        return keypoints_of_image(im.convert("RGB"))


def test_keypoints_round_trip_their_derived_file() -> None:
    im = Image.effect_mandelbrot((320, 240), (-2.0, -1.2, 1.0, 1.2), 60).convert("RGB")
    kp = keypoints_of_image(im)
    back = Keypoints.unpack(kp.pack())
    assert back is not None and len(back) == len(kp) > 100 and back.size == kp.size
    assert (back.descriptors == kp.descriptors).all()
    assert abs(back.points - kp.points).max() < 0.25
    assert Keypoints.unpack(b"not keypoints") is None


def test_real_edits_map_onto_their_original_and_no_other(shared: Path) -> None:
    originals = _dev(shared, 8)
    stored = [_kp(p) for p in originals]
    for i, path in enumerate(originals):
        with Image.open(path) as im:
            im = im.convert("RGB")
            for name, edit in EDITS.items():
                query = keypoints_of_image(edit(im))
                assert geometric_match(geometric_evidence(query, stored[i])), (name, path.name)
                for j in (i + 1) % 8, (i + 3) % 8:
                    assert not geometric_match(geometric_evidence(query, stored[j]))


def test_different_photos_of_one_scene_stay_apart(shared: Path) -> None:
    """UKBench objects (two of them licence plates) and burst-like pairs, both ways."""
    uk = [_kp(p) for p in _ukbench(shared)]
    for a, b in itertools.permutations(range(len(uk)), 2):
        assert not geometric_match(geometric_evidence(uk[a], uk[b]))
    pairs = _bursts(shared, 40)
    assert len(pairs) == 40
    for pa, pb in pairs:
        ka, kb = _kp(pa), _kp(pb)
        assert not geometric_match(geometric_evidence(ka, kb)), (pa.name, pb.name)
        assert not geometric_match(geometric_evidence(kb, ka)), (pb.name, pa.name)


# ------------------------------------------------------------------ through the library
@pytest.mark.usefixtures("understanding")
def test_verify_promotes_real_edits_and_keeps_ukbench_views_apart(
    shared: Path, tmp_path: Path
) -> None:
    originals = _dev(shared, 4)
    uk = _ukbench(shared)
    with Library.create(tmp_path / "lib") as lib:
        report = lib.add([*originals, *uk])
        ids = {Path(o.file).name: o.asset_id for o in report.added}
        copies = []
        for path in originals:
            with Image.open(path) as im:
                for name, edit in EDITS.items():
                    target = tmp_path / f"{path.stem}-{name}.jpg"
                    edit(im.convert("RGB")).save(target, quality=90)
                    copies.append((target, ids[path.name]))
        results = lib.verify([c for c, _ in copies])
        geometric = 0
        for (copy, owner), result in zip(copies, results, strict=True):
            best = result.matches[0]
            assert (best.asset_id, best.tier) == (owner, Tier.NEAR_IDENTICAL), copy.name
            doc = result.out().to_json()["matches"][0]
            if best.inliers is not None:
                geometric += 1
                assert doc["inliers"] == best.inliers >= GEOMETRIC_MIN_INLIERS
            else:
                assert "inliers" not in doc
        # The hashes alone never find a 20 % crop from one side; the features do.
        assert geometric >= len(originals)
        for path, result in zip(uk, lib.verify(uk), strict=True):
            copies_of = [m.asset_id for m in result.matches if m.tier is not Tier.SIMILAR]
            assert copies_of == [ids[path.name]], path.name
