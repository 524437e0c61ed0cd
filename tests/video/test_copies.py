"""verify and duplicates on videos through the Library: copies found with their time range in
the original, frame grabs matched to the video's moment, unrelated clips never matched."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.app.library import Library
from assetloom.app.results import MatchOut
from assetloom.core import video_match
from assetloom.core.assets import Tier
from tests.media import make_photo
from tests.media_av import make_clip, read_frames, transcode_video, watermark

DURATION = 8.0


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory, original: Path) -> Iterator[Library]:
    """A library of the original, three unrelated clips and a photo."""
    root = tmp_path_factory.mktemp("video_library")
    src = root / "src"
    src.mkdir()
    shutil.copy(original, src / "original.mp4")
    for seed in (101, 102, 103):
        make_clip(src / f"other{seed}.mp4", seed, shots=4, shot_seconds=2.0)
    make_photo(src / "photo.jpg", 5)
    with Library.create(root / "lib") as lib:
        report = lib.add([src])
        assert len(report.added) == 5 and not report.skipped
        yield lib


@pytest.fixture(scope="module")
def suspects(tmp_path_factory: pytest.TempPathFactory, original: Path) -> dict[str, Path]:
    q = tmp_path_factory.mktemp("suspects")
    return {
        "re-encoded": transcode_video(original, q / "reencoded.mp4", options={"crf": "35"}),
        "vp9": transcode_video(original, q / "vp9.webm"),
        "resized": transcode_video(original, q / "resized.mp4", size=(160, 120)),
        "cropped": transcode_video(original, q / "cropped.mkv", crop=0.9),
        "watermarked": transcode_video(original, q / "logo.mp4", edit=watermark),
        "30 fps": transcode_video(original, q / "fps30.mp4", fps=30),
    }


def only_match(lib: Library, path: Path):
    (result,) = lib.verify([path])
    assert result.error is None
    assert [m.original_name for m in result.matches] == ["original.mp4"], result.matches
    return result.tier, result.matches[0]


@pytest.mark.parametrize(
    "name", ["re-encoded", "vp9", "resized", "cropped", "watermarked", "30 fps"]
)
def test_copies_are_near_identical_over_the_whole_original(
    videos: Library, suspects: dict[str, Path], name: str
):
    tier, match = only_match(videos, suspects[name])
    assert tier is Tier.NEAR_IDENTICAL
    assert match.segment is not None and match.segment.source == "video"
    assert match.segment.start == pytest.approx(0.0, abs=0.1)
    assert match.segment.end == pytest.approx(DURATION, abs=0.1)


def test_a_trimmed_copy_names_its_time_range(videos: Library, original: Path, tmp_path: Path):
    trimmed = transcode_video(original, tmp_path / "trim.mp4", trim=(1.3, 6.5))
    tier, match = only_match(videos, trimmed)
    assert tier is Tier.NEAR_IDENTICAL
    assert match.segment is not None
    assert match.segment.start == pytest.approx(1.3, abs=0.15)
    assert match.segment.end == pytest.approx(6.5, abs=0.15)
    out = MatchOut.of(match).model_dump(mode="json", exclude_none=False)
    assert out["segment"]["source"] == "video"


def test_the_same_file_is_exact(videos: Library, original: Path):
    tier, match = only_match(videos, original)
    assert tier is Tier.EXACT and match.distance == 0


def test_unrelated_clips_never_match(videos: Library, tmp_path: Path):
    paths = [make_clip(tmp_path / f"new{seed}.mp4", seed, shots=3) for seed in (201, 202, 203)]
    for result in videos.verify(paths):
        assert result.tier is Tier.NONE and result.matches == [], result


def test_a_frame_grab_matches_the_video_at_that_moment(
    videos: Library, original: Path, tmp_path: Path
):
    frames, fps = read_frames(original)
    moment = 4.0 + video_match.SETTLE + 0.08  # just after the third shot's key frame
    grab = tmp_path / "grab.png"
    frames[round(moment * fps)].save(grab)
    tier, match = only_match(videos, grab)
    assert tier is Tier.NEAR_IDENTICAL
    assert match.segment is not None and match.segment.source == "frame"
    assert match.segment.start <= moment < (match.segment.end or 0)
    assert 4.0 <= match.segment.start < 4.5


def test_a_photo_is_not_matched_to_videos(videos: Library, tmp_path: Path):
    photo = make_photo(tmp_path / "photo.png", 5, fmt="PNG")
    (result,) = videos.verify([photo])
    assert [m.original_name for m in result.matches] == ["photo.jpg"]
    assert result.matches[0].segment is None


def test_duplicates_group_a_video_and_its_copy(original: Path, tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(original, src / "original.mp4")
    transcode_video(original, src / "smaller.mp4", size=(160, 120))
    make_clip(src / "other.mp4", 301, shots=3)
    with Library.create(tmp_path / "lib") as lib:
        lib.add([src])
        groups = lib.duplicates()
    assert [sorted(a.original_name for a in g.assets) for g in groups] == [
        ["original.mp4", "smaller.mp4"]
    ]
    assert groups[0].tier is Tier.NEAR_IDENTICAL


def test_frame_hashes_are_in_the_pdq_index(videos: Library):
    """The "pdq" family's index holds each frame's PDQ (the value's first 32 bytes), also
    when rebuilt from the catalog."""
    asset = next(
        a
        for a in videos.get_many(_all_ids(videos), fingerprints=True).values()
        if a.original_name == "original.mp4"
    )
    code = next(f.value for f in asset.fingerprints if f.kind == "pdq-frame")
    (hits,) = videos.fingerprint_index().search("pdq", [code[:32]], 0)
    assert len(hits) == 1 and hits[0][1] == 0
    rebuilt = videos.indexes.fingerprints().build("pdq")
    assert len(rebuilt) == len(videos.fingerprint_index().loaded()["pdq"])


def _all_ids(lib: Library) -> list[str]:
    return [a.asset_id for a in lib.list().assets]
