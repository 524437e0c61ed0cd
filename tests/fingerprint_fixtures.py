"""Fixtures for the copy-detection tests: AugLy copies (and which ones count), UKBench, Flickr8k.

The accepted/excluded split of AugLy transforms is argued in docs/copy-detection.md.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

# AugLy copies a person would not call "the same picture", or that no global hash can follow;
# everything else in ground_truth_copies.csv must match.
AUGLY_EXCLUDED = {
    "RandomRotation": "152° turn of a cut-out: upside down and cropped to a sliver",
    "masked_composite": "the lower half blacked out",
    "overlay_onto_background_image": "shrunk to half size onto an unrelated emoji picture",
    "overlay_stripes": "a quarter of the frame painted over by a white band",
    "perspective_transform": "strong random perspective warp",
    "rotate": "15° turn cut to a 1819x631 strip: 45 % of the frame gone, aspect changed",
    "skew": "skewed by half the width",
    "split_and_shuffle": "cut into 12 tiles and shuffled",
}


@pytest.fixture(scope="session")
def augly_excluded() -> dict[str, str]:
    return AUGLY_EXCLUDED


@pytest.fixture(scope="session")
def augly(shared: Path) -> tuple[Path, list[dict[str, str]]]:
    """(original image, rows of ground_truth_copies.csv with absolute query paths)."""
    root = shared / "data" / "nearduplicate" / "augly"
    with (root / "ground_truth_copies.csv").open() as fh:
        rows = [{**r, "query": str(root / r["query"])} for r in csv.DictReader(fh)]
    return root / "image" / "inputs" / "dfdc_1.jpg", rows


@pytest.fixture(scope="session")
def ukbench(shared: Path) -> list[Path]:
    base = shared / "data" / "nearduplicate" / "imagededup-tests" / "tests" / "data"
    return sorted((base / "base_images").glob("*.jpg"))


@pytest.fixture(scope="session")
def flickr_dev(shared: Path) -> list[Path]:
    root = shared / "data" / "flickr8k"
    lines = (root / "dev.jsonl").read_text().splitlines()
    return [root / json.loads(line)["image"] for line in lines]


@pytest.fixture(scope="session")
def flickr_train(shared: Path) -> list[Path]:
    root = shared / "data" / "flickr8k"
    lines = (root / "train.jsonl").read_text().splitlines()
    return [root / json.loads(line)["image"] for line in lines]
