"""Shared fixtures: the shared data folder, generated media, and fresh libraries."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.app.library import Library

REPO = Path(__file__).resolve().parents[1]

# The real-server fixtures (postgres_url, s3_bucket): defined once, so every test directory that
# uses them shares one set of servers per session (they start only when a test asks for them).
pytest_plugins = ["tests.backends.fixtures"]

# Library-core tests run without the ML models (fast, and what they test does not need them);
# tests of understanding and search turn it on with the `understanding` fixture.
os.environ.setdefault("ASSETLOOM_UNDERSTANDING", "false")


def shared_dir() -> Path:
    return Path(os.environ.get("ASSETLOOM_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not (path / "data").is_dir():
        pytest.skip(f"shared data not found at {path} (set ASSETLOOM_SHARED)")
    return path


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.create(tmp_path / "lib") as lib:
        yield lib


@pytest.fixture
def understanding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSETLOOM_UNDERSTANDING", "true")
