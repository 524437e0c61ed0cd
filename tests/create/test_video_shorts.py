"""video=shorts: stills, a voice-over and a bed become an H.264/AAC short, checked by decoding.

Small sizes and a few seconds each: the suite runs on two cores. The voice is espeak-ng's (it
is quick), the bed FluidSynth's; ducking is measured on a steady 6 kHz tone as the "music",
whose level an FFT bin reads with the voice on top of it.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from assetloom.create.errors import GenerationError
from assetloom.create.generators import Generated, VideoGenerator, get_generator
from assetloom.create.generators.audio import Speech, wav_bytes
from assetloom.create.generators.music_midi import Music
from assetloom.create.generators.video_shorts import MAX_DURATION_S, cues_from
from tests.create.studio_media import decode_video, tone_level_db

FPS = 24
SUBTITLES = ["冷饮一整天。\nCold all day.", "轻如空气！\nLight as air!"]


def _picture(seed: int) -> Image.Image:
    """A busy, seeded picture: cuts between two of them are unmistakable."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (480, 360), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = int(rng.integers(0, 440)), int(rng.integers(0, 320))
        r = int(rng.integers(20, 90))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    return img


@pytest.fixture(scope="module")
def maker() -> VideoGenerator:
    generator = get_generator("video=shorts")
    assert isinstance(generator, VideoGenerator)
    return generator


@pytest.fixture(scope="module")
def voice() -> Speech:
    out = get_generator("speech=espeak").generate("Cold all day. Light as air!", seed=1)
    assert isinstance(out, Speech)
    return out


@pytest.fixture(scope="module")
def bed() -> Music:
    out = get_generator("music=midi").generate("energetic", duration_s=6, seed=1)
    assert isinstance(out, Music) and out.plan is not None
    return out


def _short(maker: VideoGenerator, **kwargs: Any) -> Generated:
    return maker.generate("Trail bottle", fps=FPS, seed=5, **kwargs)


@pytest.fixture(scope="module")
def vertical(maker: VideoGenerator, voice: Speech, bed: Music) -> Generated:
    assert bed.plan is not None
    return _short(
        maker,
        width=360,
        height=640,
        images=[_picture(1), _png(_picture(2)), _picture(3)],
        voice_over=voice.data,
        music=bed.data,
        cues=cues_from(voice.sentences, SUBTITLES),
        bpm=bed.plan.bpm,
        parents=[("img1", "image"), ("img2", "image"), ("img3", "image"), ("vo", "voice-over")],
    )


def _png(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def decoded(vertical: Generated) -> dict[str, Any]:
    return decode_video(vertical.data)


def test_a_vertical_short_is_h264_and_aac_as_long_as_the_voice(
    vertical: Generated, decoded: dict[str, Any], voice: Speech
) -> None:
    assert vertical.media_type == "video/mp4"
    assert (decoded["video_codec"], decoded["audio_codec"]) == ("h264", "aac")
    assert decoded["size"] == (360, 640) and decoded["fps"] == FPS
    expected = 0.5 + voice.sentences[-1].end + 1.0  # voice_at_s, the voice, a second's tail
    assert len(decoded["frames"]) == round(expected * FPS)
    assert abs(decoded["duration"] - expected) < 0.1
    samples, rate = decoded["audio"]
    assert rate == 48_000 and abs(len(samples) / rate - expected) < 0.1


def test_cuts_fall_on_the_beat(decoded: dict[str, Any], bed: Music) -> None:
    assert bed.plan is not None
    frames = np.stack(decoded["frames"])[:, : 640 * 6 // 10].astype(np.int16)  # above the text
    change = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    cuts = [i + 1 for i in np.flatnonzero(change > 25)]
    assert len(cuts) >= 2  # three pictures
    for cut in cuts:
        beats = cut / FPS / bed.plan.beat_s
        assert abs(beats - round(beats)) * bed.plan.beat_s <= 1.01 / FPS
    assert np.median(change) < 5  # in between, the Ken Burns move is slow


def test_subtitles_are_burned_in_while_their_sentence_is_spoken(
    maker: VideoGenerator, vertical: Generated, decoded: dict[str, Any], voice: Speech
) -> None:
    plain = decode_video(
        _short(
            maker,
            width=360,
            height=640,
            images=[_picture(1), _png(_picture(2)), _picture(3)],
            duration_s=len(decoded["frames"]) / FPS,
            bpm=vertical.recipe.parameters["bpm"],
        ).data
    )
    assert len(plain["frames"]) == len(decoded["frames"])

    def bands(index: int) -> tuple[float, float, np.ndarray]:
        with_text = decoded["frames"][index].astype(np.int16)
        without = plain["frames"][index].astype(np.int16)
        diff = np.abs(with_text - without).mean(axis=2)
        return diff[: 640 // 2].mean(), diff[640 * 6 // 10 : 640 * 9 // 10].mean(), with_text

    for sentence in voice.sentences:
        index = round((0.5 + (sentence.start + sentence.end) / 2) * FPS)
        top, bottom, frame = bands(index)
        assert top < 1 and bottom > 3
        text_band = frame[640 * 6 // 10 : 640 * 9 // 10]
        white = (text_band.min(axis=2) > 235).sum()
        black = (text_band.max(axis=2) < 25).sum()
        assert white > 150 and black > 150  # white letters, black outline
    after = round((0.5 + voice.sentences[-1].end + 0.5) * FPS)
    assert bands(after)[1] < 1  # the last cue has gone


def test_music_is_ducked_under_the_voice(maker: VideoGenerator, voice: Speech) -> None:
    t = np.arange(8 * 44_100) / 44_100
    sine = (0.1 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)
    out = _short(
        maker,
        width=640,
        height=360,
        images=[_picture(4)],
        voice_over=voice.data,
        music=wav_bytes(np.stack([sine, sine], axis=1), 44_100),
        bpm=120,
        duration_s=6.0,  # the bed runs on past the voice, its fade-out in the last second
    )
    info = decode_video(out.data)
    assert info["size"] == (640, 360)  # 16:9
    samples, rate = info["audio"]
    before = tone_level_db(samples, rate, 6000, 0.05, 0.45)
    speaking = [
        tone_level_db(samples, rate, 6000, 0.5 + s.start + 0.15, 0.5 + s.end - 0.05)
        for s in voice.sentences
    ]
    after = tone_level_db(samples, rate, 6000, 0.5 + voice.sentences[-1].end + 0.7, 4.9)
    assert abs(before - 20 * np.log10(0.1)) < 1.5  # the bed as given where no one speaks
    assert all(level < before - 8 for level in speaking)  # -12 dB while words are spoken
    assert abs(after - before) < 2  # and back once the voice has finished


def test_the_recipe_records_how_and_from_what(vertical: Generated, voice: Speech) -> None:
    r = vertical.recipe
    assert (r.kind, r.backend, r.model, r.seed) == ("video", "shorts", "shorts-1", 5)
    assert [p.role for p in r.parents] == ["image", "image", "image", "voice-over"]
    assert r.parameters["cues"] == [
        [s.start, s.end, text] for s, text in zip(voice.sentences, SUBTITLES, strict=True)
    ]
    assert (r.parameters["width"], r.parameters["height"], r.parameters["fps"]) == (360, 640, 24)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration_s": MAX_DURATION_S + 1}, "longer than the 180 s cap"),
        ({"width": 361}, "even number of pixels"),
        ({"images": []}, "at least one image"),
        ({"images": [b"not a picture"]}, "image 1 is not a picture"),
        ({"music": b"\x00garbage" * 20}, "music bed is not audio"),
        ({"voice_over": b"RIFF....WAVEjunk"}, "voice-over is not audio"),
        ({"cues": [(2.0, 1.0, "backwards")]}, "has times 2.0 to 1.0"),
        ({"cues": ["no times"]}, r"must be \(start, end, text\)"),
        ({"bpm": 1000}, "bpm 1000 is outside"),
    ],
)
def test_bad_inputs_are_refused_clearly(
    maker: VideoGenerator, changes: dict[str, Any], message: str
) -> None:
    kwargs: dict[str, Any] = {"width": 160, "height": 90, "images": [_picture(1)]}
    kwargs.update(changes)
    with pytest.raises(GenerationError, match=message):
        _short(maker, duration_s=kwargs.pop("duration_s", 1.0), **kwargs)
