"""Audio the speech, music and video generators share: WAV bytes, loudness, sentences.

Loudness is ITU-R BS.1770-4 integrated loudness (K-weighting, 400 ms blocks with 75 % overlap,
the -70 LUFS absolute and -10 LU relative gates), the measure EBU R128 and the streaming
platforms normalise to, computed here in numpy so that normalising needs no second decode; the
tests hold it to FFmpeg's `ebur128` filter. Speech is normalised to -16 LUFS (podcast and
voice-over practice), a music bed to -20 LUFS, each under a -1 dBFS peak ceiling kept by a
look-ahead limiter, so the voice sits above the bed before any ducking.
"""

from __future__ import annotations

import io
import re
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assetloom.create.errors import GenerationError
from assetloom.create.generators.base import Generated

if TYPE_CHECKING:
    import numpy as np

SPEECH_LUFS = -16.0
MUSIC_LUFS = -20.0
PEAK_DBFS = -1.0
_ABSOLUTE_GATE = -70.0
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])|\n+")


@dataclass(frozen=True)
class Sentence:
    """One spoken sentence and where it lies in the audio, in seconds: subtitle cues."""

    text: str
    start: float
    end: float

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Speech(Generated):
    """A voice-over and the time of each sentence in it (for subtitles and ducking)."""

    sentences: tuple[Sentence, ...] = ()
    lufs: float = SPEECH_LUFS
    """Integrated loudness of `data` as measured after normalising."""


def split_sentences(text: str) -> list[str]:
    """Sentences of English or Chinese text, their closing punctuation kept (for subtitles)."""
    parts = (p.strip() for p in _SENTENCE_END.split(text))
    return [p for p in parts if p and any(c.isalnum() for c in p)]


# ---------------------------------------------------------------------- WAV
def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """16-bit PCM WAV of float samples in [-1, 1], shaped (n,) or (n, channels)."""
    import numpy as np

    frames = samples if samples.ndim == 2 else samples[:, None]
    pcm = np.clip(np.round(frames * 32767.0), -32768, 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(frames.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def decode_audio(data: bytes, *, what: str = "audio") -> tuple[np.ndarray, int]:
    """Float32 samples shaped (n, channels) and their rate, from WAV, MP3, AAC, Opus...
    bytes (PyAV); anything else is a GenerationError naming `what` it should have been."""
    import av
    import numpy as np

    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            with wave.open(io.BytesIO(data)) as wav:
                if wav.getsampwidth() == 2:
                    raw = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
                    frames = raw.reshape(-1, wav.getnchannels()).astype(np.float32) / 32768.0
                    return frames, wav.getframerate()
        except (wave.Error, EOFError, ValueError):
            pass  # PyAV reads float and 24-bit WAV, and says what is wrong with a bad one
    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.audio:
                raise GenerationError(f"the {what} holds no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout=stream.layout.name)
            channels = len(stream.layout.channels)
            chunks = []
            for frame in container.decode(stream):
                chunks += [
                    out.to_ndarray().reshape(-1, channels) for out in resampler.resample(frame)
                ]
            chunks += [out.to_ndarray().reshape(-1, channels) for out in resampler.resample(None)]
            rate = stream.rate
    except av.FFmpegError as exc:
        preview = data[:60].decode("utf-8", "replace")
        raise GenerationError(
            f"the {what} is not audio ({len(data)} bytes starting {preview!r}): {exc}"
        ) from exc
    if not chunks or rate <= 0:
        raise GenerationError(f"the {what} holds no audio samples")
    return np.concatenate(chunks).astype(np.float32), rate


def resample(samples: np.ndarray, rate: int, to: int) -> np.ndarray:
    """Polyphase resampling (exact for 22.05 -> 44.1 kHz and the like)."""
    if rate == to:
        return samples
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, to)
    return resample_poly(samples, to // g, rate // g, axis=0).astype(samples.dtype)


# ---------------------------------------------------------------------- loudness
def _biquad(b: Sequence[float], a: Sequence[float], x: np.ndarray) -> np.ndarray:
    from scipy.signal import lfilter

    return lfilter(b, a, x, axis=0)


def _k_weight(samples: np.ndarray, rate: int) -> np.ndarray:
    """The BS.1770 pre-filter (high shelf, then the RLB high pass) for any sample rate, from
    the analogue prototypes that give the standard's 48 kHz coefficients exactly."""
    import numpy as np

    gain_db, fc, q = 3.999843853973347, 1681.974450955533, 0.7071752369554196
    k = np.tan(np.pi * fc / rate)
    vh, a0 = 10 ** (gain_db / 20), 1 + k / q + k * k
    vb = vh**0.4996667741545416
    shelf_b = [
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    ]
    shelf_a = [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    fc, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * fc / rate)
    a0 = 1 + k / q + k * k
    pass_a = [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return _biquad([1.0, -2.0, 1.0], pass_a, _biquad(shelf_b, shelf_a, samples.astype(np.float64)))


def loudness(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness in LUFS of (n,) or (n, channels) samples; -inf for silence."""
    import numpy as np

    frames = samples if samples.ndim == 2 else samples[:, None]
    weighted = _k_weight(frames, rate) ** 2
    block, step = round(0.4 * rate), round(0.1 * rate)
    if len(weighted) < block:
        powers = weighted.mean(axis=0, keepdims=True)
    else:
        cumulative = np.concatenate([np.zeros((1, frames.shape[1])), weighted.cumsum(axis=0)])
        starts = np.arange(0, len(weighted) - block + 1, step)
        powers = (cumulative[starts + block] - cumulative[starts]) / block
    z = powers.sum(axis=1)  # channel weights are 1 for mono, left and right
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(z)
    kept = z[levels > _ABSOLUTE_GATE]
    if not len(kept):
        return float("-inf")
    relative = -0.691 + 10 * np.log10(kept.mean()) - 10
    with np.errstate(divide="ignore"):
        gated = kept[-0.691 + 10 * np.log10(kept) > relative]
    return float(-0.691 + 10 * np.log10(gated.mean()))


def limit(samples: np.ndarray, rate: int, ceiling_dbfs: float = PEAK_DBFS) -> np.ndarray:
    """A look-ahead peak limiter: the gain each sample needs to stay under the ceiling, held
    over 5 ms and smoothed over 5 ms, so peaks are caught without clicks."""
    import numpy as np
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    ceiling = 10 ** (ceiling_dbfs / 20)
    peak = np.abs(samples) if samples.ndim == 1 else np.abs(samples).max(axis=1)
    if not len(peak) or peak.max() <= ceiling:
        return samples
    window = max(1, round(0.005 * rate))
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    gain = uniform_filter1d(minimum_filter1d(need, 2 * window + 1), window)
    gain = np.minimum(gain, need)  # the smoothing may not lift a peak back over the ceiling
    shaped = samples * (gain if samples.ndim == 1 else gain[:, None])
    return shaped.astype(np.float32)


def normalise(samples: np.ndarray, rate: int, target_lufs: float) -> tuple[np.ndarray, float]:
    """Samples at `target_lufs` (within 0.1 LU) under the peak ceiling, and their loudness."""
    import numpy as np

    out = samples.astype(np.float32)
    level = loudness(out, rate)
    if not np.isfinite(level):
        raise GenerationError("the audio is silent: there is no loudness to normalise")
    for _ in range(3):  # limiting takes a little loudness away; a second pass gives it back
        if abs(level - target_lufs) < 0.1:
            break
        out = limit(out * np.float32(10 ** ((target_lufs - level) / 20)), rate)
        level = loudness(out, rate)
    return out, level


# ---------------------------------------------------------------------- sentences to a track
def trim_silence(samples: np.ndarray, rate: int, *, floor_db: float = -50.0) -> np.ndarray:
    """Mono samples without the silence before and after them (30 ms kept each side), so a
    sentence's start and end are when its voice starts and ends."""
    import numpy as np

    loud = np.flatnonzero(
        np.abs(samples) > np.abs(samples).max(initial=0.0) * 10 ** (floor_db / 20)
    )
    if not len(loud):
        return samples
    margin = round(0.03 * rate)
    return samples[max(0, loud[0] - margin) : loud[-1] + 1 + margin]


def join_sentences(
    texts: Sequence[str], clips: Sequence[np.ndarray], rate: int, *, pause_s: float
) -> tuple[np.ndarray, tuple[Sentence, ...]]:
    """One mono track of the clips, `pause_s` of silence between them, and each clip's time."""
    import numpy as np

    gap = np.zeros(round(pause_s * rate), dtype=np.float32)
    parts: list[np.ndarray] = []
    sentences: list[Sentence] = []
    position = 0
    for index, (text, clip) in enumerate(zip(texts, clips, strict=True)):
        if index:
            parts.append(gap)
            position += len(gap)
        mono = trim_silence(clip.mean(axis=1) if clip.ndim == 2 else clip, rate)
        parts.append(mono.astype(np.float32))
        sentences.append(
            Sentence(text, round(position / rate, 3), round((position + len(mono)) / rate, 3))
        )
        position += len(mono)
    return np.concatenate(parts), tuple(sentences)
