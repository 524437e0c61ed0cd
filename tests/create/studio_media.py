"""Independent measurements of what the studio's speech, music and video generators make.

Loudness is FFmpeg's own `ebur128` filter (through PyAV), not the generators' numpy code, so a
test that the output sits at its target checks one implementation against another.
"""

from __future__ import annotations

import io
import re
import tempfile
import wave
from pathlib import Path

import av
import numpy as np
from av.filter import Graph


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """(float32 samples shaped (n, channels), rate) of 16-bit PCM WAV bytes."""
    with wave.open(io.BytesIO(data)) as wav:
        assert wav.getsampwidth() == 2
        raw = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
        return raw.reshape(-1, wav.getnchannels()).astype(np.float32) / 32768.0, wav.getframerate()


def ffmpeg_lufs(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness as FFmpeg's ebur128 filter measures it."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    layout = "mono" if frames.shape[1] == 1 else "stereo"
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "r128.txt"
        graph = Graph()
        source = graph.add_abuffer(
            format="flt", sample_rate=rate, layout=layout, time_base=f"1/{rate}"
        )
        meter = graph.add("ebur128", "metadata=1")
        printer = graph.add("ametadata", f"mode=print:key=lavfi.r128.I:file={log}")
        sink = graph.add("abuffersink")
        source.link_to(meter)
        meter.link_to(printer)
        printer.link_to(sink)
        graph.configure()

        for start in range(0, len(frames), 4096):
            block = np.ascontiguousarray(frames[start : start + 4096], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="flt", layout=layout)
            frame.sample_rate, frame.pts = rate, start
            graph.push(frame)
            _drain(graph)
        graph.push(None)
        _drain(graph)
        del graph  # uninitialises the filters, which completes the log
        values = re.findall(r"lavfi\.r128\.I=(\S+)", log.read_text())
    return float(values[-1])


def _drain(graph: Graph) -> None:
    while True:
        try:
            graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return


def onset_period(samples: np.ndarray, rate: int, low_s: float, high_s: float) -> float:
    """The strongest repetition period (s) of the onsets, within [low_s, high_s]: the beat of
    drum-driven music. Spectral flux of 10 ms frames, then its autocorrelation."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    hop = rate // 100
    n = len(mono) // hop - 1
    frames = np.stack([mono[i * hop : i * hop + 2 * hop] for i in range(n)])
    spectra = np.abs(np.fft.rfft(frames * np.hanning(2 * hop), axis=1))
    flux = np.maximum(0.0, np.diff(np.log1p(spectra * 100), axis=0)).sum(axis=1)
    flux -= flux.mean()
    correlation = np.correlate(flux, flux, "full")[len(flux) - 1 :]
    lags = np.arange(round(low_s * 100), round(high_s * 100) + 1)
    return float(lags[np.argmax(correlation[lags])] / 100)


def tone_level_db(samples: np.ndarray, rate: int, freq: float, start: float, end: float) -> float:
    """Level (dB) of the sine at `freq` between two times: the magnitude of its FFT bin, so a
    voice over it hardly counts."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    piece = mono[round(start * rate) : round(end * rate)]
    window = np.hanning(len(piece))
    spectrum = np.abs(np.fft.rfft(piece * window))
    bin_ = round(freq * len(piece) / rate)
    return float(20 * np.log10(spectrum[bin_ - 1 : bin_ + 2].max() * 2 / window.sum()))


def decode_video(data: bytes) -> dict[str, object]:
    """Codecs, size, duration, frames (RGB arrays) and the audio (float, rate) of an MP4."""
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        info: dict[str, object] = {
            "video_codec": video.codec_context.name,
            "audio_codec": audio.codec_context.name if audio else None,
            "size": (video.codec_context.width, video.codec_context.height),
            "fps": float(video.average_rate),
            "duration": float(container.duration) / av.time_base,
        }
        info["frames"] = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if audio is not None:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="stereo")
            parts = [
                out.to_ndarray().reshape(-1, 2)
                for frame in container.decode(stream)
                for out in resampler.resample(frame)
            ]
            info["audio"] = (np.concatenate(parts), stream.rate)
    return info
