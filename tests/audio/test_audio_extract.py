"""The audio extractor on generated files: metadata and tags per format, loudness, cover art
or waveform thumbnails, the speech track, and what a query-side decode leaves out."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetloom.core.assets import MediaType
from assetloom.core.audio_match import CHROMAPRINT, CHROMAPRINT_KEY
from assetloom.ingest.extractors.audio import AudioExtractor
from assetloom.ingest.prepare import prepare_files, prepare_queries, sha256_file
from assetloom.ingest.records import Options, Prepared
from tests.media_av import music, speech, tone, write_audio

OPTS = Options(max_image_pixels=100_000_000, max_file_bytes=2 * 1024**3, thumbnail_size=256)
# With understanding on, the extractor makes the speech track for the recogniser.
UNDERSTANDING = replace(OPTS, embed=True)
TAGS = {
    "title": "Harbour Lights",
    "artist": "Mara Quinn",
    "album": "Tides",
    "comment": "first take",
    "date": "2024",
}
# (suffix, sniffed MIME type, codec, sample rate)
FORMATS = [
    ("wav", "audio/x-wav", "pcm_s16le", 44_100),
    ("flac", "audio/flac", "flac", 44_100),
    ("mp3", "audio/mpeg", "mp3", 44_100),
    ("ogg", "audio/ogg", "vorbis", 44_100),
    ("opus", "audio/ogg", "opus", 48_000),
    ("m4a", "audio/x-m4a", "aac", 44_100),
]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("audio")
    song = music(31, 6.0)
    out = {fmt: write_audio(folder / f"song.{fmt}", song, tags=TAGS) for fmt, *_ in FORMATS}
    cover = Image.new("RGB", (120, 120), (200, 30, 30))
    out["cover"] = write_audio(folder / "cover.mp3", song, tags=TAGS, cover=cover)
    return out


def _prepared(path: Path) -> Prepared:
    (rec,) = prepare_files([str(path)], OPTS)
    assert isinstance(rec, Prepared), rec
    return rec


@pytest.mark.parametrize(("fmt", "mime", "codec", "rate"), FORMATS)
def test_metadata_and_tags_per_format(
    clips: dict[str, Path], fmt: str, mime: str, codec: str, rate: int
):
    rec = _prepared(clips[fmt])
    meta = rec.metadata
    assert (rec.media_type, rec.mime) == (MediaType.AUDIO, mime)
    assert (meta["codec"], meta["sample_rate"], meta["channels"]) == (codec, rate, 2)
    assert meta["duration"] == pytest.approx(6.0, abs=0.05)
    assert meta["bit_rate"] > 0
    # What keyword search reads (app.understanding.keyword_document).
    assert meta["title"] == "Harbour Lights"
    assert "Mara Quinn" in meta["keywords"]
    if fmt != "wav":  # RIFF INFO has no album field FFmpeg maps
        assert "Tides" in meta["keywords"]
    assert meta["description"] == "first take"
    assert meta["tags"]["date"] == "2024"
    assert -30 < meta["loudness_lufs"] < -5
    assert not meta["cover_art"] and meta["thumbnail"] == "waveform"
    kinds = [f.kind for f in rec.fingerprints]
    assert kinds[0] == CHROMAPRINT and kinds.count(CHROMAPRINT) == 1
    assert kinds.count(CHROMAPRINT_KEY) > 5
    assert "truncated" not in meta and "damaged" not in meta


def test_the_same_sound_gives_the_same_fingerprint_in_every_lossless_format(
    clips: dict[str, Path],
):
    wav, flac = _prepared(clips["wav"]), _prepared(clips["flac"])
    assert wav.fingerprints == flac.fingerprints


def test_cover_art_is_the_thumbnail(clips: dict[str, Path]):
    rec = _prepared(clips["cover"])
    assert rec.metadata["cover_art"] and rec.metadata["thumbnail"] == "cover art"
    assert rec.thumbnail is not None
    with Image.open(io.BytesIO(rec.thumbnail)) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (120, 120)
        red, green, blue = thumb.convert("RGB").getpixel((60, 60))
    assert red > 150 and green < 80 and blue < 80


def test_without_cover_art_the_thumbnail_is_a_waveform(clips: dict[str, Path]):
    rec = _prepared(clips["mp3"])
    assert rec.thumbnail is not None
    with Image.open(io.BytesIO(rec.thumbnail)) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (256, 128)
        column = [thumb.convert("RGB").getpixel((128, y)) for y in range(128)]
    # Bright bars around the middle line, dark background at the edges.
    assert sum(column[64]) > 300 and sum(column[0]) < 200


def test_loudness_follows_bs1770(tmp_path: Path):
    """A 1 kHz tone peaking at -20 dBFS reads -23 LUFS in mono and -20 in stereo (both
    channels count); silence has no loudness."""
    mono = write_audio(tmp_path / "mono.wav", tone(1000, 3.0, amplitude=0.1))
    stereo = write_audio(tmp_path / "stereo.flac", np.repeat(tone(1000, 3.0, amplitude=0.1), 2, 1))
    quiet = write_audio(tmp_path / "silence.wav", np.zeros((3 * 44_100, 1), dtype=np.float32))
    assert _prepared(mono).metadata["loudness_lufs"] == pytest.approx(-23.0, abs=0.1)
    assert _prepared(stereo).metadata["loudness_lufs"] == pytest.approx(-20.0, abs=0.1)
    assert _prepared(quiet).metadata["loudness_lufs"] is None


def test_speech_track_for_the_recogniser(tmp_path: Path):
    samples, rate = speech("A black dog runs through the tall green grass.")
    path = write_audio(tmp_path / "talk.wav", samples, rate)
    record = Prepared(str(path), sha256_file(path), path.stat().st_size, 0, MediaType.AUDIO, "")
    inputs = AudioExtractor().extract(path, record, UNDERSTANDING, query=False)
    assert inputs.speech is not None and inputs.speech.rate == 16_000
    assert inputs.speech.samples.dtype == np.float32 and inputs.speech.samples.ndim == 1
    assert inputs.speech.seconds == pytest.approx(len(samples) / rate, abs=0.05)
    assert float(np.sqrt(np.mean(inputs.speech.samples**2))) > 0.01
    assert inputs.images == [] and "transcript_covers_s" not in record.metadata
    # Only the model steps read it, and they run with understanding on.
    assert AudioExtractor().extract(path, record, OPTS, query=False).speech is None


def test_a_query_decode_keeps_only_what_matching_needs(clips: dict[str, Path]):
    (rec,) = prepare_queries([str(clips["cover"])], OPTS)
    assert isinstance(rec, Prepared)
    assert [f.kind for f in rec.fingerprints] == [CHROMAPRINT]
    assert rec.thumbnail is None and "loudness_lufs" not in rec.metadata
    assert rec.fingerprints == _prepared(clips["cover"]).fingerprints[:1]
