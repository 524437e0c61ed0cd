"""Damaged, empty and enormous audio: a specific skip reason or a bounded result, never a
traceback or a decode that runs as long as the file claims."""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assetloom.app.library import Library
from assetloom.core.assets import MediaType
from assetloom.core.audio_match import CHROMAPRINT
from assetloom.ingest.extractors.audio import SPEECH_SECONDS, AudioExtractor
from assetloom.ingest.prepare import prepare_files, sha256_file
from assetloom.ingest.records import Options, Prepared, Skipped
from tests.media_av import music, write_audio

OPTS = Options(max_image_pixels=100_000_000, max_file_bytes=2 * 1024**3, thumbnail_size=256)
# With understanding on, the extractor makes the speech track for the recogniser.
UNDERSTANDING = replace(OPTS, embed=True)


def _one(path: Path) -> Prepared | Skipped:
    (rec,) = prepare_files([str(path)], OPTS)
    return rec


def _wav_header(rate: int, data_bytes: int, channels: int = 1) -> bytes:
    """A PCM s16 WAV header announcing `data_bytes` of samples."""
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def test_a_truncated_flac_says_so(tmp_path: Path):
    whole = write_audio(tmp_path / "whole.flac", music(41, 10.0, stereo=False))
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    rec = _one(cut)
    assert isinstance(rec, Prepared)
    assert rec.metadata["truncated"] is True
    assert rec.metadata["declared_duration"] == pytest.approx(10.0, abs=0.05)
    assert rec.metadata["duration"] == pytest.approx(5.0, abs=0.5)
    assert any(f.kind == CHROMAPRINT for f in rec.fingerprints)


def test_a_truncated_wav_is_read_as_far_as_it_goes(tmp_path: Path):
    """FFmpeg trusts the file's size over the header's, so there is nothing to flag."""
    whole = write_audio(tmp_path / "whole.wav", music(41, 10.0, stereo=False))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    rec = _one(cut)
    assert isinstance(rec, Prepared)
    assert rec.metadata["duration"] == pytest.approx(5.0, abs=0.1)
    assert any(f.kind == CHROMAPRINT for f in rec.fingerprints)


def test_a_truncated_mp3_is_a_bounded_result(tmp_path: Path):
    whole = write_audio(tmp_path / "whole.mp3", music(42, 6.0, stereo=False))
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    rec = _one(cut)
    assert isinstance(rec, Prepared)
    assert rec.metadata["duration"] == pytest.approx(3.0, abs=0.3)


@pytest.mark.parametrize(
    ("name", "signature", "reason"),
    [
        ("noise.mp3", b"\xff\xfb\x90\x64", "not a readable audio file (Invalid data found"),
        ("noise.wav", b"RIFF\x00\x00\x10\x00WAVEfmt ", "not a readable audio file (Invalid data"),
        ("noise.flac", b"fLaC\x00\x00\x00\x22", "damaged audio: no frame could be decoded"),
    ],
)
def test_garbage_behind_an_audio_signature_is_skipped(
    tmp_path: Path, name: str, signature: bytes, reason: str
):
    bad = tmp_path / name
    bad.write_bytes(signature + np.random.default_rng(43).bytes(20_000))
    rec = _one(bad)
    assert isinstance(rec, Skipped)
    assert rec.reason.startswith(reason)


def test_a_flac_with_a_damaged_middle_keeps_what_decodes(tmp_path: Path):
    path = write_audio(tmp_path / "song.flac", music(44, 6.0, stereo=False))
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(45)
    middle = len(data) // 3
    data[middle : middle + len(data) // 3] = rng.bytes(len(data) // 3)
    damaged = tmp_path / "damaged.flac"
    damaged.write_bytes(bytes(data))
    rec = _one(damaged)
    assert isinstance(rec, Prepared), rec
    assert rec.metadata["duration"] <= 6.05


def test_audio_with_no_samples_is_skipped(tmp_path: Path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(_wav_header(44_100, 0))
    rec = _one(empty)
    assert isinstance(rec, Skipped)
    assert rec.reason == "the file holds no audio (0 samples)"


def test_an_empty_wav_added_to_a_library_says_why(library: Library, tmp_path: Path):
    """Moved from tests/test_bad_input.py, where this file was "recognised but not
    supported yet" until audio arrived."""
    wav = tmp_path / "voice.wav"
    wav.write_bytes(
        b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00D\xac\x00\x00"
        b"\x88X\x01\x00\x02\x00\x10\x00data\x00\x00\x00\x00"
    )
    report = library.add([wav])
    assert [s.reason for s in report.skipped] == ["the file holds no audio (0 samples)"]


def test_a_midi_score_is_recognised_but_not_decoded(tmp_path: Path):
    midi = tmp_path / "tune.mid"
    track = b"\x00\x90\x3c\x40\x60\x80\x3c\x40\x00\xff\x2f\x00"
    midi.write_bytes(
        b"MThd"
        + struct.pack(">IHHH", 6, 0, 1, 96)
        + b"MTrk"
        + struct.pack(">I", len(track))
        + track
    )
    rec = _one(midi)
    assert isinstance(rec, Skipped)
    assert rec.reason.startswith("audio (audio/midi) is recognised but not supported yet")


def test_a_ten_hour_recording_is_sampled_not_decoded_whole(tmp_path: Path):
    """10 h of 4 kHz mono: 20 s of music, then silence (a sparse file: no disk used). The
    decode stops after the speech track's 30 minutes and samples the rest for loudness and
    the waveform; the duration is the header's."""
    rate, hours = 4_000, 10
    data_bytes = hours * 3600 * rate * 2
    path = tmp_path / "long.wav"
    start = music(46, 20.0, rate=rate, stereo=False)
    with path.open("wb") as fh:
        fh.write(_wav_header(rate, data_bytes))
        fh.write((start[:, 0] * 20_000).astype("<i2").tobytes())
        fh.truncate(44 + data_bytes)
    record = Prepared(str(path), sha256_file(path), path.stat().st_size, 0, MediaType.AUDIO, "")
    inputs = AudioExtractor().extract(path, record, UNDERSTANDING, query=False)
    meta = record.metadata
    assert meta["duration"] == pytest.approx(hours * 3600, abs=1)
    assert meta["loudness_sampled"] is True
    assert meta["transcript_covers_s"] == SPEECH_SECONDS
    assert inputs.speech is not None
    assert inputs.speech.seconds == pytest.approx(SPEECH_SECONDS, abs=0.01)
    assert any(f.kind == CHROMAPRINT for f in record.fingerprints)
    assert record.thumbnail is not None
