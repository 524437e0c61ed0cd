"""The video extractor on generated clips: metadata, key frames per shot, poster, strip,
the speech track, long files sampled, and query-side frames."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from assetloom.core import video_match
from assetloom.core.assets import MediaType
from assetloom.ingest.extractors import video
from assetloom.ingest.records import ModelInputs, Options, Prepared
from assetloom.ingest.sniff import sniff
from tests.media_av import make_clip, scene_frames, tone, transcode_video, write_video
from tests.video.conftest import SHOT

OPTS = Options(max_image_pixels=10**9, max_file_bytes=2 * 1024**3, thumbnail_size=256)


def extract(path: Path, *, query: bool = False) -> tuple[Prepared, ModelInputs]:
    with path.open("rb") as fh:
        kind = sniff(str(path), fh.read(8192))
    rec = Prepared(str(path), "0" * 64, path.stat().st_size, 0, kind.media_type, kind.mime)
    return rec, kind.extractor.extract(path, rec, OPTS, query=query)


def shot_of(seconds: float) -> int:
    return int(seconds // SHOT)


def test_mp4_metadata_key_frames_poster_strip_and_speech(mp4: Path):
    rec, inputs = extract(mp4)
    assert rec.media_type is MediaType.VIDEO and rec.mime == "video/mp4"
    assert (rec.width, rec.height) == (320, 240)
    meta = rec.metadata
    assert meta["duration"] == pytest.approx(6.0, abs=0.15)
    assert (meta["codec"], meta["fps"], meta["rotation"]) == ("h264", 25.0, 0)
    assert (meta["audio_codec"], meta["sample_rate"], meta["channels"]) == ("aac", 48_000, 1)
    assert meta["shots"] == 3 and meta["key_frames"] == 3
    # One key frame per shot, SETTLE after its cut; each frame's segment runs to the next.
    starts = [seg.start for seg, _ in inputs.frames]
    assert [shot_of(t) for t in starts] == [0, 1, 2]
    for i, t in enumerate(starts):
        assert i * SHOT + video_match.SETTLE <= t < i * SHOT + video_match.SETTLE + 0.15
    ends = [seg.end for seg, _ in inputs.frames]
    assert ends[:-1] == starts[1:] and ends[-1] == meta["duration"]
    assert all(seg.source == "frame" for seg, _ in inputs.frames)
    assert max(inputs.frames[0][1].size) == video.KEY_SIZE
    # Two PDQ codes (whole, centre crop) per key frame, each carrying its time.
    kinds = sorted({f.kind for f in rec.fingerprints})
    assert kinds == ["pdq-frame", "pdq-frame_c85"]
    assert [c.seconds for c in video_match.frame_codes(rec.fingerprints)][::2] == starts
    # The poster is the first key frame after 10 % of the duration (shot 2 here).
    assert inputs.images == [inputs.frames[1][1]]
    with Image.open(io.BytesIO(rec.thumbnail or b"")) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (256, 192)
    with Image.open(io.BytesIO(rec.derived["strip.webp"])) as strip:
        assert strip.format == "WEBP"
        assert strip.size == (video.STRIP_FRAMES * 120, video.STRIP_HEIGHT)
    # The tone track, as the speech recogniser reads it: 16 kHz mono, 370 Hz.
    speech = inputs.speech
    assert speech is not None and speech.rate == 16_000
    assert speech.seconds == pytest.approx(6.0, abs=0.15)
    spectrum = np.abs(np.fft.rfft(speech.samples[:16_000]))
    assert float(np.argmax(spectrum)) == pytest.approx(370, abs=2)


@pytest.mark.parametrize(
    ("suffix", "mime", "codec", "audio"),
    [
        (".webm", "video/webm", "vp9", "opus"),
        (".mkv", "video/x-matroska", "h264", "aac"),
        (".mov", "video/quicktime", "h264", "aac"),
    ],
)
def test_containers_and_tags(tmp_path: Path, suffix: str, mime: str, codec: str, audio: str):
    tags = {
        "creation_time": "2021-05-01T10:00:00.000000Z",
        "location": "+48.8584+002.2945/",
        "title": "Harbour at dawn",
        "comment": "b-roll, take 2",
    }
    path = make_clip(tmp_path / f"clip{suffix}", 2, shots=2, shot_seconds=1.5, metadata=tags)
    rec, inputs = extract(path)
    assert rec.mime == mime
    assert (rec.metadata["codec"], rec.metadata["audio_codec"]) == (codec, audio)
    assert rec.metadata["creation_time"] == "2021-05-01T10:00:00+00:00"
    assert rec.metadata["gps"] == {"latitude": 48.8584, "longitude": 2.2945}
    # What keyword search reads.
    assert rec.metadata["title"] == "Harbour at dawn"
    assert rec.metadata["description"] == "b-roll, take 2"
    assert [int(seg.start // 1.5) for seg, _ in inputs.frames] == [0, 1]


def test_iphone_style_quicktime_keys(tmp_path: Path):
    tags = {
        "com.apple.quicktime.location.ISO6709": "+35.6895+139.6917+040.500/",
        "com.apple.quicktime.creationdate": "2022-03-04T05:06:07+0900",
    }
    path = make_clip(
        tmp_path / "IMG_0001.MOV",
        3,
        shots=1,
        shot_seconds=1.0,
        metadata=tags,
        muxer_options={"movflags": "use_metadata_tags"},
    )
    rec, _ = extract(path)
    assert rec.metadata["gps"] == {"latitude": 35.6895, "longitude": 139.6917, "altitude_m": 40.5}
    assert rec.metadata["creation_time"] == "2022-03-03T20:06:07+00:00"


def test_iso6709_locations():
    assert video.parse_iso6709("+35.6895+139.6917+040.5/") == {
        "latitude": 35.6895,
        "longitude": 139.6917,
        "altitude_m": 40.5,
    }
    assert video.parse_iso6709("-33.8688+151.2093/") == {
        "latitude": -33.8688,
        "longitude": 151.2093,
    }
    assert video.parse_iso6709("somewhere") is None
    assert video.parse_iso6709("+95.0+200.0/") is None


def rotate_mp4(src: Path, dst: Path) -> Path:
    """A phone's portrait video: the first track header's matrix turned 90° clockwise."""
    data = bytearray(src.read_bytes())
    at = data.find(b"tkhd") + 4
    assert data[at] == 0  # version 0 header
    matrix = at + 4 + 20 + 8 + 8  # flags, times/ids/duration, reserved, layer..volume
    width = struct.unpack(">I", data[matrix + 36 : matrix + 40])[0]
    data[matrix : matrix + 36] = struct.pack(
        ">9i", 0, 1 << 16, 0, -(1 << 16), 0, 0, width, 0, 1 << 30
    )
    dst.write_bytes(data)
    return dst


def test_rotation_reports_the_displayed_size(mp4: Path, tmp_path: Path):
    rec, inputs = extract(rotate_mp4(mp4, tmp_path / "portrait.mp4"))
    assert rec.metadata["rotation"] == 90
    assert (rec.width, rec.height) == (240, 320)
    assert inputs.images[0].size == (300, 400)
    assert all(img.width < img.height for _, img in inputs.frames)


def test_black_opening_is_neither_key_frame_nor_poster(tmp_path: Path):
    black = [Image.new("RGB", (320, 240)) for _ in range(50)]
    frames = black + scene_frames(5, 2, SHOT, (320, 240), 25)
    path = write_video(tmp_path / "fade_in.mp4", frames, audio=tone(440, 6.0, rate=48_000))
    _, inputs = extract(path)
    starts = [seg.start for seg, _ in inputs.frames]
    assert starts and all(t >= 2.0 for t in starts)
    assert float(np.asarray(inputs.images[0].convert("L")).std()) > 20


def test_long_shot_gets_a_key_frame_every_shot_step(tmp_path: Path):
    path = make_clip(tmp_path / "long.mp4", 3, shots=1, shot_seconds=11.0, size=(160, 120))
    _, inputs = extract(path)
    starts = [seg.start for seg, _ in inputs.frames]
    assert len(starts) == 3
    assert np.diff(starts) == pytest.approx([video.SHOT_STEP] * 2, abs=0.1)


def test_picks_thin_the_closest_pair_first():
    picks = video._Picks(cap=3)
    image = Image.new("RGB", (4, 4))
    for t in (0.0, 1.0, 1.2, 5.0, 9.0):
        picks.add(video._KeyFrame(t, image, []))
    assert [f.seconds for f in picks.frames] == [0.0, 5.0, 9.0]


def test_long_files_are_sampled_not_scanned(mp4: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(video, "SCAN_PIXELS", 1)
    monkeypatch.setattr(video, "MIN_KEY_FRAMES", 5)
    rec, inputs = extract(mp4)
    starts = [seg.start for seg, _ in inputs.frames]
    # 5 evenly spaced moments, each decoded at (or just after) its time.
    expected = [(i + 0.5) * rec.metadata["duration"] / 5 for i in range(5)]
    assert starts == pytest.approx(expected, abs=0.1)
    assert "shots" not in rec.metadata
    assert inputs.speech is not None and inputs.speech.seconds == pytest.approx(6.0, abs=0.15)
    assert rec.derived["strip.webp"]


def test_sampled_copies_meet_at_the_same_moments(
    mp4: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A long file's query samples the times its original was sampled at, whatever the
    copy's key frames: a re-encoded, resized copy still matches."""
    copy = transcode_video(mp4, tmp_path / "copy.mp4", size=(160, 120), options={"g": "7"})
    monkeypatch.setattr(video, "SCAN_PIXELS", 1)
    monkeypatch.setattr(video, "MIN_KEY_FRAMES", 5)
    stored, _ = extract(mp4)
    query, _ = extract(copy, query=True)
    assert video_match.frame_times(query.fingerprints) == pytest.approx(
        video_match.frame_times(stored.fingerprints), abs=0.05
    )
    verdict = video_match.match_video(
        query.fingerprints, stored.fingerprints, query_duration=6.0, stored_duration=6.0
    )
    assert verdict is not None and verdict.votes == 5


def test_query_side_samples_densely_without_thumbnail(mp4: Path):
    rec, inputs = extract(mp4, query=True)
    times = video_match.frame_times(rec.fingerprints)
    # Non-reference frames are not decoded: a sample lands on the next decoded frame; after
    # a cut the next sample waits for SETTLE.
    assert max(np.diff(times)) <= video_match.SETTLE + video_match.QUERY_STEP + 0.1
    assert len(times) >= 6 / (video_match.QUERY_STEP + 0.1) - 1
    assert {f.kind for f in rec.fingerprints} == {"pdq-frame", "pdq-frame_q94"}
    assert rec.thumbnail is None and not rec.derived
    assert inputs.frames == [] and inputs.speech is None and len(inputs.images) == 1


def test_frames_are_drawn_at_reduced_size(tmp_path: Path):
    """A 720p clip's key frames and poster come at KEY_SIZE, the strip at STRIP_HEIGHT."""
    frames = [Image.new("RGB", (1280, 720), (40, 90, 160)) for _ in range(10)]
    for i, img in enumerate(frames):
        ImageDraw.Draw(img).rectangle((100 + 20 * i, 100, 700, 500), fill=(240, 200, 20))
        ImageDraw.Draw(img).ellipse((800, 200 + 10 * i, 1100, 600), fill=(200, 20, 20))
    rec, inputs = extract(write_video(tmp_path / "hd.mp4", frames, fps=10))
    assert (rec.width, rec.height) == (1280, 720)
    assert inputs.images[0].size == (400, 225)
    with Image.open(io.BytesIO(rec.derived["strip.webp"])) as strip:
        assert strip.height == video.STRIP_HEIGHT


def test_a_sound_track_longer_than_the_picture_is_not_truncation(tmp_path: Path):
    frames = scene_frames(8, 1, 2.0, (160, 120), 25)
    path = write_video(tmp_path / "long_audio.mp4", frames, audio=tone(440, 6.0, rate=48_000))
    rec, inputs = extract(path)
    assert rec.metadata["duration"] == pytest.approx(6.0, abs=0.15)
    assert len(inputs.frames) == 1


def test_a_clip_shorter_than_the_settle_time_still_gets_a_key_frame(tmp_path: Path):
    frames = scene_frames(9, 1, 0.16, (160, 120), 25)
    _, inputs = extract(write_video(tmp_path / "blink.mp4", frames))
    assert len(inputs.frames) == 1 and inputs.speech is None


def test_a_cut_right_after_the_start_is_a_cut(tmp_path: Path):
    """A trimmed copy often starts just before a cut: that cut must count as one, or the
    copy's next key frame lands elsewhere than the original's."""
    frames = scene_frames(12, 1, 0.32, (160, 120), 25) + scene_frames(13, 1, 2.0, (160, 120), 25)
    rec, inputs = extract(write_video(tmp_path / "early_cut.mp4", frames))
    assert rec.metadata["shots"] == 2
    second = [seg.start for seg, _ in inputs.frames if seg.start >= 0.32]
    assert second[0] == pytest.approx(0.32 + video_match.SETTLE, abs=0.1)
