"""Speech to text with Whisper on CTranslate2 (faster-whisper), on the CPU in int8.

A recording is first screened by the Silero voice detector that ships inside faster-whisper
(an ONNX file in its package: nothing is downloaded). Too little voice and the recording has no
transcript and Whisper is never run: music costs only the detector. The detected stretches
are joined and transcribed in one pass (so a song's instrumental breaks are not read), and the
segment times are mapped back onto the recording. Whisper invents text over music and silence
("Thank you for watching."); what survives the detector is filtered again on Whisper's own
confidence figures. The thresholds were calibrated (`bench/asr_thresholds.py`) on synthetic
music (chords + melody + drums, a formant-filtered "choir" synth, a tone), noise and silence
against espeak-ng's American and British voices reading Flickr8k captions, on both models,
with Whisper's voice detection and filters off so that every clip reached it:

=======================  ===================  ==========================  ========
figure                   espeak-ng speech     music, noise, silence       rule
=======================  ===================  ==========================  ========
voice detected           the whole clip       0.00 s in every clip        >= 0.5 s
no_speech_prob           0.01-0.62            0.64-0.95; 0.43-0.57 (*)    < 0.6
avg_logprob              -0.30 to -1.11       -0.78 to -2.31; ~0 (*)      > -1.2
compression ratio        0.38-1.38            0.11-1.3; 16-52 (*)         <= 2.4
segments kept by all     52 of 53             none                        (AND)
=======================  ===================  ==========================  ========

(*) Whisper base loops over music ("BAM BAM BAM ..."): such segments look confident but
compress 16-52 times (2.4 and 0.6 are Whisper's own thresholds). No one figure separates
speech from music on its own; the detector does, and all the rules together do, so either
gate alone keeps music out. A segment must also hold a letter or digit (Whisper writes " ."
over chords). The one speech segment lost was tiny.en's weakest, on the British voice.

`condition_on_previous_text` is off: feeding back earlier text is the main source of Whisper's
runaway repetitions, and costs little accuracy on short passages.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from assetloom.models.asr.chinese import CHINESE, to_simplified
from assetloom.models.base import Transcript, TranscriptSegment
from assetloom.models.errors import ModelError, ModelNotInstalledError

RATE = 16_000
"""What Whisper and the voice detector read."""
VAD_THRESHOLD = 0.5
"""Silero's speech probability per 32 ms window (its default; the table above)."""
MIN_SPEECH_S = 0.5
"""Less voice than this in the whole recording: no transcript. A short word is ~0.3 s, a
sentence 2-5 s; every synthetic music clip measured 0.00 s."""
MAX_NO_SPEECH_PROB = 0.6
"""Whisper's own `no_speech_threshold`."""
MIN_AVG_LOGPROB = -1.2
MAX_COMPRESSION_RATIO = 2.4
MAX_SECONDS = 1800.0
"""Seconds of detected speech transcribed per recording (~3.5 min of one core for Whisper
base): a 10-hour recording is transcribed over its first half hour of speech, not 10 hours."""
BEAM_SIZE = 2
"""Greedy decoding garbles more words; 5 (Whisper's default) costs twice the time of 2 for
no gain measured on these clips."""
TEMPERATURES = (0.0, 0.4)
"""One retry, sampled, when a window fails Whisper's checks (a loop, a low score)."""


class WhisperTranscriber:
    """Transcriber over one CTranslate2 Whisper folder; loads on first use, thread-safe."""

    def __init__(
        self,
        name: str,
        model_dir: Callable[[], Path],
        *,
        threads: int | None = None,
        max_seconds: float = MAX_SECONDS,
    ) -> None:
        self.name = name
        self._model_dir = model_dir
        self._threads = threads or min(4, os.cpu_count() or 1)
        self.max_seconds = max_seconds
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            try:
                from faster_whisper import WhisperModel
            except ImportError as exc:
                raise ModelNotInstalledError(
                    "Speech recognition needs faster-whisper, which is not installed",
                    hint="pip install -r requirements/media.txt",
                ) from exc
            path = self._model_dir()
            try:
                self._model = WhisperModel(
                    str(path),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=self._threads,
                    num_workers=1,
                    local_files_only=True,
                )
            except Exception as exc:
                raise ModelError(f"Cannot load the {self.name} model from {path}: {exc}") from exc
        return self._model

    def close(self) -> None:
        with self._lock:
            self._model = None

    def transcribe(
        self, samples: np.ndarray, rate: int, *, language: str | None = None
    ) -> Transcript:
        audio = mono_16k(samples, rate)
        duration = len(audio) / RATE
        chunks = speech_chunks(audio)
        if sum(c["end"] - c["start"] for c in chunks) < MIN_SPEECH_S * RATE:
            return Transcript(None, (), duration)
        chunks = _capped(chunks, round(self.max_seconds * RATE))
        voiced = np.concatenate([audio[c["start"] : c["end"]] for c in chunks])
        with self._lock:
            model = self._load()
            try:
                found, info = model.transcribe(
                    voiced,
                    language=language,
                    beam_size=BEAM_SIZE,
                    best_of=BEAM_SIZE,
                    temperature=list(TEMPERATURES),
                    condition_on_previous_text=False,
                    vad_filter=False,
                )
                raw = list(found)
            except Exception as exc:
                raise ModelError(f"Speech recognition ({self.name}) failed: {exc}") from exc
        from faster_whisper.vad import SpeechTimestampsMap

        times = SpeechTimestampsMap(chunks, RATE)
        kept: list[TranscriptSegment] = []
        for seg in raw:
            if not _believable(seg):
                continue
            text = seg.text.strip()
            if info.language in CHINESE:
                text = to_simplified(text)
            start = min(duration, max(0.0, times.get_original_time(seg.start)))
            end = min(duration, max(start, times.get_original_time(seg.end, is_end=True)))
            if kept and start < kept[-1].start:  # never out of order, even when rounded
                start = kept[-1].start
            kept.append(TranscriptSegment(start, end, text, seg.no_speech_prob, seg.avg_logprob))
        return Transcript(
            info.language if kept else None,
            tuple(kept),
            duration,
            len(voiced) / RATE,
        )


def _believable(seg: Any) -> bool:
    return (
        seg.no_speech_prob < MAX_NO_SPEECH_PROB
        and seg.avg_logprob > MIN_AVG_LOGPROB
        and seg.compression_ratio <= MAX_COMPRESSION_RATIO
        and any(ch.isalnum() for ch in seg.text)
    )


def speech_chunks(audio: np.ndarray) -> list[dict[str, int]]:
    """Where the voice detector hears speech: [{"start", "end"}] in samples at 16 kHz."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=VAD_THRESHOLD, min_speech_duration_ms=250)
    return [
        {"start": int(c["start"]), "end": int(c["end"])}
        for c in get_speech_timestamps(audio, options, sampling_rate=RATE)
    ]


def _capped(chunks: list[dict[str, int]], budget: int) -> list[dict[str, int]]:
    out = []
    for c in chunks:
        if budget <= 0:
            break
        end = min(c["end"], c["start"] + budget)
        out.append({"start": c["start"], "end": end})
        budget -= end - c["start"]
    return out


def mono_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 at 16 kHz; other rates are resampled with FFmpeg's filter (PyAV)."""
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim == 2 and 1 in audio.shape:
        audio = audio.reshape(-1)
    if audio.ndim != 1:
        raise ValueError(f"speech samples must be mono (one channel), not shape {audio.shape}")
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, not {rate}")
    if rate == RATE or len(audio) == 0:
        return np.ascontiguousarray(audio)
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    parts = []
    block = rate * 60  # a minute at a time: the resampler's frames stay small
    for lo in range(0, len(audio), block):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(audio[lo : lo + block])[None, :], format="flt", layout="mono"
        )
        frame.sample_rate = rate
        frame.pts = lo
        frame.time_base = Fraction(1, rate)
        parts += [f.to_ndarray()[0] for f in resampler.resample(frame)]
    parts += [f.to_ndarray()[0] for f in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32, copy=False)
