"""Speech to text on speech espeak-ng makes and music PyAV-style generators make: words close
to what was said, times on the recording's clock, and no words at all for music."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assetloom.models.asr.chinese import to_simplified
from assetloom.models.asr.weights import whisper_tiny_en_dir
from assetloom.models.asr.whisper import WhisperTranscriber
from assetloom.models.base import Transcriber, Transcript
from tests.media_av import choir, music, speech, tone
from tests.speech.conftest import word_error_rate

SENTENCES = [
    "A black dog is running through the grass with a ball in its mouth.",
    "Two children are playing on the beach.",
]


def _spoken(
    texts: list[str], *, pause_s: float = 1.0, lead: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """The sentences read one after another with a pause between, after `lead` if given."""
    parts: list[np.ndarray] = []
    rate = 0
    for text in texts:
        samples, rate = speech(text)
        parts += [samples[:, 0], np.zeros(round(pause_s * rate), np.float32)]
    if lead is not None:
        parts.insert(0, lead)
    return np.concatenate(parts), rate


def _check_times(t: Transcript) -> None:
    starts = [s.start for s in t.segments]
    assert starts == sorted(starts)
    for s in t.segments:
        assert 0.0 <= s.start <= s.end <= t.duration


def test_english_sentences(asr: Transcriber) -> None:
    samples, rate = _spoken(SENTENCES)
    t = asr.transcribe(samples, rate)
    assert t.language == "en" and t.speech
    assert word_error_rate(" ".join(SENTENCES), t.text) <= 0.15, t.text
    assert t.duration == pytest.approx(len(samples) / rate, abs=0.01)
    assert 0 < t.seconds_transcribed <= t.duration
    _check_times(t)


def test_dev_captions(asr: Transcriber, shared: Path) -> None:
    """Captions of the Flickr8k dev split, read by espeak-ng (robotic; Whisper base gets
    ~80 % of its words right: 20 captions measured a mean error rate of 0.20)."""
    rows = (shared / "data" / "flickr8k" / "dev.jsonl").read_text("utf-8").splitlines()
    captions = [json.loads(line)["captions_en"][0] for line in rows[1:5]]
    samples, rate = _spoken(captions)
    t = asr.transcribe(samples, rate)
    assert t.language == "en"
    assert word_error_rate(" ".join(captions), t.text) < 0.3, t.text
    _check_times(t)


def test_times_are_on_the_recordings_clock(asr: Transcriber) -> None:
    """Voice detection cuts the music before the words; the words still start at ~4 s."""
    lead = music(3, 4.0, rate=22_050, stereo=False)[:, 0]
    samples, rate = _spoken(SENTENCES[:1], lead=lead)
    t = asr.transcribe(samples, rate)
    assert t.speech
    assert 3.3 <= t.segments[0].start <= 4.5
    assert t.seconds_transcribed < t.duration - 3.0
    _check_times(t)


@pytest.mark.parametrize(
    "kind",
    ["music", "other music", "synth choir", "tone", "silence"],
)
def test_music_has_no_transcript(asr: Transcriber, kind: str) -> None:
    rate = 44_100
    sound = {
        "music": lambda: music(1, 6.0, rate=rate, stereo=False)[:, 0],
        "other music": lambda: music(7, 6.0, rate=rate, stereo=False)[:, 0],
        "synth choir": lambda: choir(2, 6.0, rate=rate)[:, 0],
        "tone": lambda: tone(440.0, 4.0, rate=rate)[:, 0],
        "silence": lambda: np.zeros(4 * rate, np.float32),
    }[kind]()
    t = asr.transcribe(sound, rate)
    assert t == Transcript(None, (), pytest.approx(len(sound) / rate, abs=0.01), 0.0)
    assert t.text == ""


def test_tiny_english_model(tiny_asr: Transcriber) -> None:
    samples, rate = _spoken(SENTENCES)
    t = tiny_asr.transcribe(samples, rate)
    assert t.language == "en"
    assert word_error_rate(" ".join(SENTENCES), t.text) <= 0.3, t.text
    _check_times(t)


def test_cap_on_seconds_transcribed() -> None:
    """A long recording is read over its first `max_seconds` of speech only."""
    asr = WhisperTranscriber("whisper-tiny.en", whisper_tiny_en_dir, threads=1, max_seconds=2.5)
    samples, rate = _spoken(SENTENCES)
    t = asr.transcribe(samples, rate)
    assert t.seconds_transcribed == pytest.approx(2.5)
    assert t.segments and t.segments[-1].start < 2.5
    assert "beach" not in t.text


def test_chinese_is_written_in_simplified(asr: Transcriber) -> None:
    """espeak-ng's Mandarin (voice cmn-latn-pinyin: the plain `cmn` voice spells hanzi out as
    English letters) is too robotic for Whisper base to detect as Chinese or to transcribe
    faithfully, so the language is given; Whisper writes what it hears in Traditional
    characters (我愛...安門), and the transcript must come out Simplified."""
    samples, rate = speech("我爱北京天安门。", voice="cmn-latn-pinyin", speed=110)
    t = asr.transcribe(samples[:, 0], rate, language="zh")
    assert t.language == "zh" and t.speech
    assert any("\u4e00" <= ch <= "\u9fff" for ch in t.text)
    assert to_simplified(t.text) == t.text
    assert "我" in t.text and not set("愛門") & set(t.text)


def test_opencc_taiwan_to_simplified() -> None:
    assert to_simplified("軟體裡的網路") == "软件里的网络"
    assert to_simplified("一隻狗嘴裡叼著一個球。") == "一只狗嘴里叼着一个球。"
    assert to_simplified("已经是简体字") == "已经是简体字"


def test_samples_must_be_mono(tiny_asr: Transcriber) -> None:
    with pytest.raises(ValueError, match="mono"):
        tiny_asr.transcribe(np.zeros((16_000, 2), np.float32), 16_000)
