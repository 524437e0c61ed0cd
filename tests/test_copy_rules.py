"""Copy rules: what is the same picture (AugLy, Flickr8k copies) and what is not (UKBench)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from assetloom.core.assets import Fingerprint, Tier
from assetloom.core.copy_rules import (
    PDQ_ALONE,
    PDQ_WITH_PHASH,
    PHASH_CONFIRM,
    hamming_matrix,
    image_match,
)
from assetloom.ingest.image_fingerprints import query_fingerprints, stored_fingerprints

pytest_plugins = ["tests.fingerprint_fixtures"]
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))


def _rgb(path: Path | str) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def _code(nbits: int, flipped: int, seed: int = 0) -> bytes:
    """A balanced-looking code with its first `flipped` bits inverted relative to seed's."""
    bits = np.random.default_rng(seed).integers(0, 2, nbits, dtype=np.uint8)
    bits[:flipped] ^= 1
    return np.packbits(bits).tobytes()


# ----------------------------------------------------------------- the rule itself, synthetic


def _pair(pdq_dist: int, phash_dist: int, quality: int = 100) -> tuple[list, list]:
    stored = [Fingerprint("pdq", _code(256, 0), 100), Fingerprint("phash", _code(64, 0, 1))]
    query = [
        Fingerprint("pdq", _code(256, pdq_dist), quality),
        Fingerprint("phash", _code(64, phash_dist, 1)),
    ]
    return query, stored


def test_pdq_alone_up_to_its_threshold() -> None:
    assert image_match(*_pair(PDQ_ALONE, 64)) == (Tier.NEAR_IDENTICAL, float(PDQ_ALONE))
    assert image_match(*_pair(PDQ_ALONE + 2, 40)) is None


def test_wider_pdq_band_needs_phash_agreement() -> None:
    assert image_match(*_pair(PDQ_WITH_PHASH, PHASH_CONFIRM)) == (
        Tier.NEAR_IDENTICAL,
        float(PDQ_WITH_PHASH),
    )
    assert image_match(*_pair(PDQ_WITH_PHASH, PHASH_CONFIRM + 1)) is None
    assert image_match(*_pair(PDQ_WITH_PHASH + 2, 0)) is None


def test_low_quality_pdq_is_not_trusted_alone() -> None:
    assert image_match(*_pair(10, 40, quality=20)) is None
    assert image_match(*_pair(10, 2, quality=20)) == (Tier.NEAR_IDENTICAL, 10.0)


def test_no_pdq_means_no_verdict() -> None:
    assert (
        image_match([Fingerprint("phash", _code(64, 0))], [Fingerprint("phash", _code(64, 0))])
        is None
    )


def test_hamming_matrix() -> None:
    a = [_code(256, 0), _code(256, 7)]
    assert hamming_matrix(a, a).tolist() == [[0, 7], [7, 0]]


# ----------------------------------------------------------------- real pictures


def test_augly_exclusions_are_real_transforms(
    augly: tuple[Path, list[dict[str, str]]], augly_excluded: dict[str, str]
) -> None:
    _, rows = augly
    assert set(augly_excluded) <= {r["transform"] for r in rows}


def test_augly_copies_a_person_calls_the_same_picture_match(
    augly: tuple[Path, list[dict[str, str]]], augly_excluded: dict[str, str]
) -> None:
    original, rows = augly
    stored = stored_fingerprints(_rgb(original))
    missed, wrongly = [], []
    for row in rows:
        verdict = image_match(query_fingerprints(_rgb(row["query"])), stored)
        if row["transform"] in augly_excluded:
            wrongly += [row["transform"]] if verdict is not None and verdict[1] <= 20 else []
        elif verdict is None:
            missed.append(row["transform"])
    assert not missed, f"accepted AugLy copies not found: {missed}"
    assert len(rows) - len(augly_excluded) == 34
    assert not wrongly


def test_augly_other_frames_are_not_copies(augly: tuple[Path, list[dict[str, str]]]) -> None:
    original, _ = augly
    stored = stored_fingerprints(_rgb(original))
    for other in ("dfdc_2.jpg", "dfdc_3.jpg"):
        path = original.parent / other
        if path.exists():
            assert image_match(query_fingerprints(_rgb(path)), stored) is None, other


def test_different_ukbench_views_are_not_near_identical(ukbench: list[Path]) -> None:
    assert len(ukbench) == 10
    stored = {p.name: stored_fingerprints(_rgb(p)) for p in ukbench}
    for path in ukbench:
        query = query_fingerprints(_rgb(path))
        for name, fps in stored.items():
            verdict = image_match(query, fps)
            assert (verdict is not None) == (name == path.name), (path.name, name, verdict)


def test_imagededup_flip_and_resize_match(shared: Path) -> None:
    data = shared / "data" / "nearduplicate" / "imagededup-tests" / "tests" / "data"
    stored = stored_fingerprints(_rgb(data / "mixed_images" / "ukbench00120.jpg"))
    for copy in ("mixed_images/ukbench00120_hflip.jpg", "mixed_images/ukbench00120_resize.jpg"):
        assert image_match(query_fingerprints(_rgb(data / copy)), stored) is not None, copy
    gray = query_fingerprints(_rgb(data / "ukbench00120_gray.jpg"))
    assert image_match(gray, stored) is not None


def test_flickr_copies_match_and_unrelated_photos_do_not(
    flickr_dev: list[Path], flickr_train: list[Path]
) -> None:
    """A small slice of bench/copy_detection.py: 40 originals x 11 transforms, 150 unrelated."""
    from copy_detection import TRANSFORMS

    originals = [_rgb(p) for p in flickr_dev[:40]]
    stored = [stored_fingerprints(im) for im in originals]

    def best(query: list[Fingerprint]) -> int | None:
        found = [(v[1], i) for i, s in enumerate(stored) if (v := image_match(query, s))]
        return min(found)[1] if found else None

    recall: dict[str, float] = {}
    for name, transform in TRANSFORMS.items():
        results = [best(query_fingerprints(transform(im))) for im in originals]
        assert all(r in (None, i) for i, r in enumerate(results)), f"{name}: wrong original"
        recall[name] = sum(r == i for i, r in enumerate(results)) / len(originals)
    assert np.mean(list(recall.values())) >= 0.95, recall
    assert min(recall.values()) >= 0.8, recall
    false = [p.name for p in flickr_train[:150] if best(query_fingerprints(_rgb(p))) is not None]
    assert not false
