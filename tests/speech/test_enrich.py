"""The transcribe step at ingest: passages with their times, keyword text and a summary for
files with speech; `"speech": false` and nothing else for music; end to end through `add`
and `search` for a video's sound track."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.core.assets import MediaType, Segment, Space
from assetloom.ingest.enrich import enrichers
from assetloom.ingest.enrich.transcribe import Transcribe, passages
from assetloom.ingest.prepare import prepare_files
from assetloom.ingest.records import Audio, ModelInputs, Options, Prepared
from assetloom.models.asr.whisper import mono_16k
from assetloom.models.base import TranscriptSegment
from assetloom.models.errors import UnknownBackendError
from assetloom.models.registry import get_transcriber
from assetloom.settings import load_settings
from tests.media_av import (
    VIDEO_RATE,
    music,
    resample,
    scene_frames,
    speech,
    write_audio,
    write_video,
)
from tests.speech.conftest import word_error_rate

SAID = "A black dog is running through the grass with a ball in its mouth."
SENTENCES_AUDIO = "Two children are playing on the beach near the water."


def _seg(start: float, end: float, text: str = "words") -> TranscriptSegment:
    return TranscriptSegment(start, end, text, 0.1, -0.3)


@pytest.fixture
def opts() -> Options:
    return Options.from_settings(load_settings(), embed=True)


# ---------------------------------------------------------------------- passages
def test_passages_close_after_15_s() -> None:
    segs = [_seg(4.0 * i, 4.0 * i + 4.0, f"s{i}") for i in range(10)]
    got = passages(segs, "en")
    assert [(p.start, p.end) for p in got] == [(0.0, 16.0), (16.0, 32.0), (32.0, 40.0)]
    assert got[0] == Segment("transcript", 0.0, 16.0, text="s0 s1 s2 s3")


def test_passages_never_grow_past_30_s() -> None:
    got = passages([_seg(0, 10), _seg(10, 14), _seg(14, 31)], "en")
    assert [(p.start, p.end) for p in got] == [(0.0, 14.0), (14.0, 31.0)]
    assert [(p.start, p.end) for p in passages([_seg(0, 45)], "en")] == [(0.0, 45.0)]


def test_a_long_pause_starts_a_new_passage() -> None:
    got = passages([_seg(0, 3), _seg(4, 6), _seg(16.5, 19)], "en")
    assert [(p.start, p.end) for p in got] == [(0.0, 6.0), (16.5, 19.0)]


def test_chinese_passages_join_without_spaces() -> None:
    assert passages([_seg(0, 2, "你好。"), _seg(2, 4, "世界")], "zh")[0].text == "你好。世界"


# ---------------------------------------------------------------------- the step
def test_wanted_with_understanding_and_a_recogniser(opts: Options) -> None:
    step = Transcribe()
    assert step.wanted(opts)
    assert not step.wanted(replace(opts, asr="off"))
    assert not step.wanted(replace(opts, embed=False))
    names = [e.name for e in enrichers(opts)]
    assert names.index("transcribe") < names.index("embed-texts")  # passages exist by then


def test_an_unknown_recogniser_names_the_known_ones() -> None:
    with pytest.raises(UnknownBackendError) as err:
        get_transcriber("whisper-huge")
    assert "'whisper-base'" in (err.value.hint or "") and "'off'" in (err.value.hint or "")


def _record(name: str, text: str | None = None) -> Prepared:
    return Prepared(name, "0" * 64, 1, 0, MediaType.AUDIO, "audio/wav", text_content=text)


def test_speech_and_music_records(opts: Options) -> None:
    samples, rate = speech(SAID)
    said = _record("talk.wav", text="Launch recording")
    tune = _record("tune.wav")
    song = music(4, 5.0, rate=16_000, stereo=False)[:, 0]
    Transcribe().enrich(
        [
            (said, ModelInputs(speech=Audio(mono_16k(samples[:, 0], rate)))),
            (tune, ModelInputs(speech=Audio(song))),
            (_record("photo-like.wav"), ModelInputs()),  # no sound track: left alone
        ],
        opts,
    )
    summary = said.metadata["transcript"]
    assert summary["language"] == "en" and summary["speech"] is True
    assert summary["model"] == "whisper-base"
    assert 0 < summary["seconds_transcribed"] <= len(samples) / rate + 0.01
    [passage] = said.passages
    assert passage.source == "transcript" and 0.0 <= passage.start < passage.end
    assert word_error_rate(SAID, passage.text or "") <= 0.15
    assert said.text_content == f"Launch recording\n{passage.text}"

    assert tune.metadata["transcript"] == {
        "language": None,
        "speech": False,
        "seconds_transcribed": 0.0,
        "model": "whisper-base",
    }
    assert tune.passages == [] and tune.text_content is None


# ---------------------------------------------------------------------- through ingest
@pytest.fixture(scope="module")
def talking_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5 fps clip of two moving scenes whose sound track says `SAID` after 1.5 s of music."""
    samples, rate = speech(SAID)
    lead = music(9, 1.5, rate=VIDEO_RATE, stereo=False)
    track = np.concatenate([lead * 0.3, resample(samples, rate, VIDEO_RATE)])
    fps = 5
    frames = scene_frames(5, 2, len(track) / VIDEO_RATE / 2, (160, 120), fps)
    path = tmp_path_factory.mktemp("video") / "walk.mp4"
    return write_video(path, frames, fps=fps, audio=track)


def test_a_videos_sound_track_through_prepare(talking_video: Path, opts: Options) -> None:
    [rec] = prepare_files([str(talking_video)], opts)
    assert isinstance(rec, Prepared) and rec.media_type == MediaType.VIDEO
    assert rec.metadata["transcript"]["speech"] is True
    [passage] = rec.passages
    assert 1.0 <= (passage.start or 0.0) <= 2.2 and (passage.end or 0.0) <= 6.0
    # Through AAC the robotic voice loses a little more ("...with a bolleted smile.").
    assert word_error_rate(SAID, passage.text or "") <= 0.35
    # The embed step (order 50) gave the passage its own text vector.
    assert [v.segment for v in rec.segment_vectors if v.space == Space.TEXT] == [passage]


@pytest.fixture
def lib(tmp_path: Path, understanding: None) -> Iterator[Library]:
    with Library.create(tmp_path / "lib") as lib:
        lib.settings = lib.settings.model_copy(update={"workers": 1})
        yield lib


def test_spoken_words_find_the_video(lib: Library, talking_video: Path) -> None:
    asset_id = lib.add([talking_video]).added[0].asset_id
    hits = lib.search(
        SearchQuery(text="a dog runs on the grass carrying a ball", media_type=MediaType.VIDEO)
    )
    assert hits and hits[0].asset.asset_id == asset_id
    moments = [m for m in hits[0].matched if m.get("source") == "transcript"]
    assert moments and 1.0 <= moments[0]["start"] <= 2.2
    assert "dog" in moments[0]["text"].lower()


def test_spoken_words_find_the_recording_and_music_has_none(lib: Library, tmp_path: Path) -> None:
    samples, rate = speech(SENTENCES_AUDIO)
    talk = write_audio(tmp_path / "talk.wav", samples, rate)
    song = write_audio(tmp_path / "song.mp3", music(11, 5.0))
    added = {Path(a.file).name: a.asset_id for a in lib.add([talk, song]).added}
    said, tune = lib.get(added["talk.wav"]), lib.get(added["song.mp3"])
    assert said.media_type == tune.media_type == MediaType.AUDIO
    assert said.metadata["transcript"]["speech"] is True
    assert tune.metadata["transcript"]["speech"] is False
    stored = lib.catalog.passages_of([said.asset_id, tune.asset_id])
    assert [p.source for p in stored[said.asset_id]] == ["transcript"]
    assert tune.asset_id not in stored
    hits = lib.search(
        SearchQuery(text="kids playing by the sea", media_type=MediaType.AUDIO, limit=2)
    )
    assert hits and hits[0].asset.asset_id == said.asset_id
    assert hits[0].matched[0]["source"] == "transcript"
