"""Damaged and odd video files get a specific skip reason, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetloom.app.library import Library
from assetloom.core.assets import MediaType
from assetloom.ingest.prepare import prepare_files
from assetloom.ingest.records import Options, Prepared, Skipped
from tests.media_av import make_audio_only_mp4, make_clip

OPTS = Options(max_image_pixels=10**9, max_file_bytes=2 * 1024**3, thumbnail_size=256)


def reason(path: Path) -> str:
    (result,) = prepare_files([str(path)], OPTS)
    assert isinstance(result, Skipped), result
    return result.reason


def cut(src: Path, dst: Path, share: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * share)])
    return dst


def test_truncated_mp4_loses_its_index(mp4: Path, tmp_path: Path):
    # FFmpeg writes the MP4 index (moov) last: a cut file cannot be opened at all.
    text = reason(cut(mp4, tmp_path / "cut.mp4", 0.6))
    assert text.startswith("not a readable video (damaged or truncated:")


def test_truncated_matroska_stops_early(tmp_path: Path):
    full = make_clip(tmp_path / "full.mkv", 4, shots=3, shot_seconds=2.0)
    text = reason(cut(full, tmp_path / "cut.mkv", 0.4))
    assert text.startswith("truncated video: its frames stop at")
    assert "of the 6.0 s it states" in text


def test_garbage_after_a_video_signature(mp4: Path, tmp_path: Path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(mp4.read_bytes()[:64] + bytes(range(256)) * 40)
    assert reason(bad).startswith("not a readable video")


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_audio_only_container_goes_to_the_audio_extractor(tmp_path: Path, suffix: str):
    """libmagic calls these video/*: the video extractor hands them to audio by MIME type."""
    path = make_audio_only_mp4(tmp_path / f"voice{suffix}")
    (result,) = prepare_files([str(path)], OPTS)
    assert isinstance(result, Prepared), result
    audio_mime = {".mp4": "audio/mp4", ".webm": "audio/webm"}[suffix]
    assert (result.media_type, result.mime) == (MediaType.AUDIO, audio_mime)
    assert result.metadata["duration"] == pytest.approx(3.0, abs=0.1)
    assert result.metadata["codec"] == {".mp4": "aac", ".webm": "opus"}[suffix]


def test_add_reports_each_reason(library: Library, mp4: Path, tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    cut(mp4, folder / "cut.mp4", 0.5)
    (folder / "empty.webm").write_bytes(b"")
    good = folder / "good.mp4"
    good.write_bytes(mp4.read_bytes())
    report = library.add([folder])
    reasons = {Path(s.file).name: s.reason for s in report.skipped}
    assert reasons["cut.mp4"].startswith("not a readable video")
    assert reasons["empty.webm"] == "empty file (0 bytes)"
    assert [Path(o.file).name for o in report.added] == ["good.mp4"]
