"""Fixtures for the model tests: Flickr8k dev data (skipped when absent) and model folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def flickr_dev() -> tuple[Path, list[dict]]:
    """(image folder root, rows of dev.jsonl) from $ASSETLOOM_SHARED (default ../shared)."""
    root = Path(os.environ.get("ASSETLOOM_SHARED", REPO.parent / "shared")) / "data" / "flickr8k"
    if not (root / "dev.jsonl").is_file():
        pytest.skip(f"Flickr8k dev split not found under {root} (set ASSETLOOM_SHARED)")
    with open(root / "dev.jsonl", encoding="utf-8") as fh:
        return root, [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export cache for the session, as a library's models/ folder would be."""
    return tmp_path_factory.mktemp("model-cache")
