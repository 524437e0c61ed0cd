"""Clips shared by the video tests: generated once per session (a few seconds each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media_av import make_clip

SHOT = 2.0
"""Seconds per shot of the shared clips."""


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def mp4(clips: Path) -> Path:
    """H.264 + AAC, 3 hard-cut shots of 2 s, 320x240 at 25 fps, a 370 Hz tone."""
    return make_clip(clips / "three_shots.mp4", 1, shots=3, shot_seconds=SHOT)


@pytest.fixture(scope="session")
def original(clips: Path) -> Path:
    """The library original of the copy tests: 4 shots of 2 s."""
    return make_clip(clips / "original.mp4", 11, shots=4, shot_seconds=SHOT)
