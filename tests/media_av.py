"""Generated audio and video for tests, made with PyAV (and espeak-ng for speech).

Signals are numpy arrays of float32 samples shaped (samples, channels); seeded generators make
each clip distinct, so fingerprints of different seeds never agree by accident. Clips are
seconds long: the suite runs on 2 cores.
"""

from __future__ import annotations

import io
import itertools
import random
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw

# ------------------------------------------------------------------------------------ audio

RATE = 44_100

# Per container: (codec, sample format the encoder takes, bit rate or None).
AUDIO_FORMATS: dict[str, tuple[str, str, int | None]] = {
    "wav": ("pcm_s16le", "s16", None),
    "flac": ("flac", "s16", None),
    "mp3": ("libmp3lame", "fltp", 128_000),
    "ogg": ("libvorbis", "fltp", 96_000),
    "opus": ("libopus", "s16", 48_000),
    "m4a": ("aac", "fltp", 128_000),
}
_MUXERS = {"opus": "ogg", "m4a": "ipod"}


def tone(freq: float, seconds: float, *, rate: int = RATE, amplitude: float = 0.5) -> np.ndarray:
    """A mono sine: loudness figures of a pure tone are known in closed form."""
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)[:, None]


def music(seed: int, seconds: float, *, rate: int = RATE, stereo: bool = True) -> np.ndarray:
    """Music-like: a seeded melody of harmonic notes over chords, with noise-burst drums.

    Notes change every 0.1-0.4 s and the drums are seeded noise, so two seeds share no
    stretch of spectrum long enough for a fingerprint to confuse them."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    out = np.zeros(n, dtype=np.float64)
    t_all = np.arange(n) / rate
    scale = np.array([0, 2, 4, 5, 7, 9, 11])
    root = 48 + int(rng.integers(0, 12))
    # Chords: a new triad every 1-2 s.
    pos = 0
    while pos < n:
        length = int(rate * rng.uniform(1.0, 2.0))
        degree = int(rng.integers(0, 7))
        seg = slice(pos, min(n, pos + length))
        t = t_all[seg] - t_all[pos]
        for k in (0, 2, 4):
            midi = root + scale[(degree + k) % 7] + 12 * ((degree + k) // 7)
            out[seg] += 0.08 * np.sin(2 * np.pi * _hz(midi) * t) * np.exp(-t * 0.8)
        pos += length
    # Melody: harmonic notes with an attack-decay envelope.
    pos = 0
    while pos < n:
        length = int(rate * rng.uniform(0.1, 0.4))
        midi = root + 12 + scale[int(rng.integers(0, 7))] + 12 * int(rng.integers(0, 2))
        seg = slice(pos, min(n, pos + length))
        t = t_all[seg] - t_all[pos]
        env = np.minimum(t / 0.01, 1.0) * np.exp(-t * rng.uniform(3, 8))
        for h in range(1, 5):
            out[seg] += 0.25 / h * np.sin(2 * np.pi * _hz(midi) * h * t) * env
        pos += length
    # Drums: decaying noise bursts on a seeded beat.
    beat = int(rate * rng.uniform(0.25, 0.5))
    for start in range(0, n, beat):
        if rng.random() < 0.7:
            length = min(int(rate * 0.12), n - start)
            t = np.arange(length) / rate
            out[start : start + length] += 0.3 * rng.standard_normal(length) * np.exp(-t * 40)
    out /= max(1e-9, float(np.abs(out).max())) / 0.8
    mono = out.astype(np.float32)
    if not stereo:
        return mono[:, None]
    right = np.roll(mono, int(rate * 0.003)) * 0.9
    return np.stack([mono, right], axis=1)


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def speech(text: str, *, voice: str = "en", speed: int = 160) -> tuple[np.ndarray, int]:
    """(samples, rate) of espeak-ng reading `text`: mono float32 at espeak's 22,050 Hz."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text],
            check=True,
            capture_output=True,
        )
        return read_audio(wav)


def choir(seed: int, seconds: float, *, rate: int = RATE) -> np.ndarray:
    """The most speech-like music made here, mono: a seeded saw-tooth melody with vibrato,
    filtered through the three formants of an "ah" (a synth choir). Voice detection and
    speech recognition must still find no words in it."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    buzz = np.zeros(n, dtype=np.float64)
    pos = 0
    while pos < n:
        length = min(n - pos, int(rate * rng.uniform(0.3, 0.6)))
        t = np.arange(length) / rate
        freq = _hz(57 + int(rng.choice([0, 2, 4, 5, 7, 9, 11, 12])))
        phase = 2 * np.pi * np.cumsum(freq * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))) / rate
        env = np.minimum(1.0, t / 0.03) * np.minimum(1.0, (t[-1] - t + 1e-3) / 0.05)
        buzz[pos : pos + length] = sum(np.sin(k * phase) / k for k in range(1, 20)) * env
        pos += length
    spectrum = np.fft.rfft(buzz)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    formants = sum(
        np.exp(-(((freqs - f) / bw) ** 2)) for f, bw in ((700, 130), (1220, 150), (2600, 200))
    )
    out = np.fft.irfft(spectrum * formants, n)
    out *= 0.8 / max(1e-9, float(np.abs(out).max()))
    return out.astype(np.float32)[:, None]


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Float32 samples (n, channels) at `new_rate` (espeak-ng's 22,050 Hz speech for a 48 kHz
    video track, say), through FFmpeg's resampler."""
    layout = "stereo" if samples.shape[1] == 2 else "mono"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=new_rate)
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples.T, dtype=np.float32), format="fltp", layout=layout
    )
    frame.sample_rate = rate
    out = resampler.resample(frame) + resampler.resample(None)
    return np.concatenate([f.to_ndarray().T for f in out]).astype(np.float32)


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """(samples (n, channels) float32, rate) of the first audio stream, decoded whole."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout=stream.codec_context.layout)
        parts = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1, out.layout.nb_channels))
        for out in resampler.resample(None):
            parts.append(out.to_ndarray().reshape(-1, out.layout.nb_channels))
    return np.concatenate(parts).astype(np.float32), rate


def write_audio(
    path: Path,
    samples: np.ndarray,
    rate: int = RATE,
    *,
    fmt: str | None = None,
    bit_rate: int | None = None,
    tags: dict[str, str] | None = None,
    cover: Image.Image | None = None,
) -> Path:
    """Encode float32 samples (n, channels) as `fmt` (default: the file's suffix), with
    container tags and, for MP3/FLAC/M4A, embedded cover art."""
    fmt = fmt or path.suffix.lstrip(".")
    codec, sample_fmt, default_rate = AUDIO_FORMATS[fmt]
    if samples.ndim == 1:
        samples = samples[:, None]
    channels = samples.shape[1]
    out_rate = 48_000 if codec == "libopus" else rate
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=_MUXERS.get(fmt, fmt)) as container:
        for key, value in (tags or {}).items():
            container.metadata[key] = value
        stream = container.add_stream(
            codec, rate=out_rate, layout="stereo" if channels == 2 else "mono"
        )
        if bit_rate or default_rate:
            stream.bit_rate = bit_rate or default_rate
        pic = _add_cover(container, cover) if cover is not None else None
        if pic is not None:
            container.mux(pic)
        resampler = av.AudioResampler(format=sample_fmt, layout=stream.layout, rate=out_rate)
        block = 4096
        written = 0
        for start in range(0, len(samples) + block, block):
            frame = None
            if start < len(samples):
                chunk = np.ascontiguousarray(samples[start : start + block].T, dtype=np.float32)
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=stream.layout)
                frame.sample_rate = rate
                frame.pts = start
                frame.time_base = Fraction(1, rate)
            for resampled in resampler.resample(frame):
                # Timestamps in output samples: the Ogg muxer derives the duration from them.
                resampled.pts = written
                resampled.time_base = Fraction(1, out_rate)
                written += resampled.samples
                container.mux(stream.encode(resampled))
        container.mux(stream.encode(None))
    return path


def _add_cover(container: av.container.OutputContainer, cover: Image.Image) -> av.Packet:
    """An attached-picture stream holding one JPEG (the MP3, FLAC and MP4 muxers write it as
    the file's cover art; the M4A muxer takes none)."""
    buf = io.BytesIO()
    cover.convert("RGB").save(buf, "JPEG", quality=90)
    stream = container.add_stream("mjpeg")
    stream.width, stream.height = cover.size
    stream.pix_fmt = "yuvj420p"
    stream.disposition = av.stream.Disposition.attached_pic.value
    stream.metadata["title"] = "Album cover"
    stream.metadata["comment"] = "Cover (front)"
    packet = av.Packet(buf.getvalue())
    packet.stream = stream
    packet.pts = packet.dts = 0
    packet.time_base = Fraction(1, 90_000)
    return packet


def transcode(
    src: Path,
    dst: Path,
    *,
    fmt: str | None = None,
    bit_rate: int | None = None,
    start: float = 0.0,
    seconds: float | None = None,
    gain_db: float = 0.0,
) -> Path:
    """Re-encode (a stretch of) `src`, louder or quieter by `gain_db`: the copies a
    fingerprint must see through."""
    samples, rate = read_audio(src)
    first = round(start * rate)
    last = len(samples) if seconds is None else first + round(seconds * rate)
    part = samples[first:last] * np.float32(10 ** (gain_db / 20))
    return write_audio(dst, np.clip(part, -1.0, 1.0), rate, fmt=fmt, bit_rate=bit_rate)


# ------------------------------------------------------------------------------------ video
# (The audio helper overwrote an uncommitted first version of this file by accident at 23:21,
# which held the video helper's `make_clip`; the video generators go here.)

VIDEO_CODECS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9"}
VIDEO_AUDIO = {".mp4": "aac", ".mov": "aac", ".mkv": "aac", ".webm": "libopus"}
VIDEO_RATE = 48_000


def scene_picture(seed: int, size: tuple[int, int]) -> Image.Image:
    """A busy synthetic scene (shapes on a coloured gradient), distinct per seed."""
    rng = random.Random(seed)
    w, h = size
    top = np.array([rng.randrange(256) for _ in range(3)], dtype=np.float32)
    bottom = np.array([rng.randrange(256) for _ in range(3)], dtype=np.float32)
    ramp = np.linspace(0.0, 1.0, h)[:, None, None]
    grad = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)
    img = Image.fromarray(np.repeat(grad, w, axis=1), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(14):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(w // 10, w // 2), y0 + rng.randrange(h // 10, h // 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return img


def scene_frames(
    seed: int, shots: int, shot_seconds: float, size: tuple[int, int], fps: int
) -> list[Image.Image]:
    """Frames of `shots` hard-cut shots, each a slow pan across its own scene (drawn a
    quarter larger than `size`) with a white disc moving over it."""
    return list(iter_scene_frames(seed, shots, shot_seconds, size, fps))


def iter_scene_frames(
    seed: int, shots: int, shot_seconds: float, size: tuple[int, int], fps: int
) -> Iterator[Image.Image]:
    """`scene_frames` one at a time: a long 720p clip never sits in memory whole."""
    w, h = size
    per_shot = round(shot_seconds * fps)
    for shot in range(shots):
        big = scene_picture(seed * 1000 + shot, (w * 5 // 4, h * 5 // 4))
        dx, dy = big.width - w, big.height - h
        for i in range(per_shot):
            t = i / max(1, per_shot - 1)
            x, y = round(dx * t), round(dy * t * 0.5)
            frame = big.crop((x, y, x + w, y + h))
            draw = ImageDraw.Draw(frame)
            cx, cy, r = round(w * (0.2 + 0.6 * t)), h // 2, h // 10
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill="white")
            yield frame


def write_video(
    path: Path,
    frames: Iterable[Image.Image],
    *,
    fps: int = 25,
    audio: np.ndarray | None = None,
    codec: str | None = None,
    options: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
    muxer_options: dict[str, str] | None = None,
) -> Path:
    """Encode RGB pictures (and float32 audio (n, channels) at 48 kHz) into `path`, the
    codecs chosen by its suffix (H.264 + AAC, VP9 + Opus for .webm)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    frames = iter(frames)
    first = next(frames)
    with av.open(str(path), "w", options=muxer_options or {}) as out:
        out.metadata.update(metadata or {})
        vs = out.add_stream(codec or VIDEO_CODECS[suffix], rate=fps)
        vs.width, vs.height = first.size
        vs.pix_fmt = "yuv420p"
        if vs.name == "libx264":
            vs.options = {"preset": "veryfast", **(options or {})}
        elif vs.name == "libvpx-vp9":
            vs.options = {"deadline": "realtime", "cpu-used": "8", **(options or {})}
        aus = None
        if audio is not None:
            layout = "stereo" if audio.shape[1] == 2 else "mono"
            aus = out.add_stream(VIDEO_AUDIO[suffix], rate=VIDEO_RATE, layout=layout)
        for i, img in enumerate(itertools.chain([first], frames)):
            frame = av.VideoFrame.from_image(img.convert("RGB"))
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        if aus is not None and audio is not None:
            _encode_track(out, aus, audio)
    return path


def _encode_track(
    out: av.container.OutputContainer, aus: av.AudioStream, audio: np.ndarray
) -> None:
    resampler = av.AudioResampler(format=aus.format.name, layout=aus.layout, rate=VIDEO_RATE)
    block = 4096
    for start in range(0, len(audio), block):
        chunk = np.ascontiguousarray(audio[start : start + block].T, dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=aus.layout)
        frame.sample_rate = VIDEO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, VIDEO_RATE)
        for resampled in resampler.resample(frame):
            resampled.pts = None
            out.mux(aus.encode(resampled))
    for resampled in resampler.resample(None):
        resampled.pts = None
        out.mux(aus.encode(resampled))
    out.mux(aus.encode(None))


def make_clip(
    path: Path,
    seed: int,
    *,
    shots: int = 3,
    shot_seconds: float = 2.0,
    size: tuple[int, int] = (320, 240),
    fps: int = 25,
    audio: bool = True,
    **kwargs: Any,
) -> Path:
    """A clip of `shots` hard-cut moving scenes with a tone track, distinct per seed."""
    frames = iter_scene_frames(seed, shots, shot_seconds, size, fps)
    seconds = shots * round(shot_seconds * fps) / fps
    sound = tone(330.0 + 40 * (seed % 10), seconds, rate=VIDEO_RATE) if audio else None
    return write_video(path, frames, fps=fps, audio=sound, **kwargs)


def read_frames(path: Path) -> tuple[list[Image.Image], float]:
    """Every frame of the first video stream as RGB pictures, and its frame rate."""
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        fps = float(stream.average_rate or 25)
        return [f.to_image() for f in src.decode(stream)], fps


def transcode_video(
    src: Path,
    dst: Path,
    *,
    size: tuple[int, int] | None = None,
    crop: float | None = None,
    trim: tuple[float, float] | None = None,
    edit: Callable[[Image.Image], Image.Image] | None = None,
    fps: int | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Re-encode `src` (codecs by `dst`'s suffix) after a trim to [start, end) seconds, a
    new frame rate, a centre crop keeping `crop` of each side, a resize and a per-frame
    `edit` (an overlay): the copies video matching must see through. The tone track is
    made again over the kept length."""
    frames, rate = read_frames(src)
    if trim is not None:
        frames = frames[round(trim[0] * rate) : round(trim[1] * rate)]
    if fps is not None and round(rate) != fps:
        frames = [frames[int(i * rate / fps)] for i in range(int(len(frames) * fps / rate))]
        rate = fps
    out = []
    for img in frames:
        if crop is not None:
            w, h = img.size
            cw, ch = round(w * crop) // 2 * 2, round(h * crop) // 2 * 2
            img = img.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch))
        if size is not None:
            img = img.resize(size, Image.Resampling.BILINEAR)
        if edit is not None:
            img = edit(img)
        out.append(img)
    sound = tone(440.0, len(out) / rate, rate=VIDEO_RATE)
    return write_video(dst, out, fps=round(rate), audio=sound, options=options)


def watermark(img: Image.Image) -> Image.Image:
    """A semi-opaque logo box with text in the lower right corner, like a channel's bug."""
    img = img.convert("RGBA")
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    w, h = img.size
    box = (round(w * 0.68), round(h * 0.78), round(w * 0.96), round(h * 0.94))
    draw.rectangle(box, fill=(255, 255, 255, 150))
    draw.text((box[0] + 6, box[1] + 4), "LOGO TV", fill=(200, 0, 0, 255))
    return Image.alpha_composite(img, layer).convert("RGB")


def make_audio_only_mp4(path: Path, seconds: float = 3.0) -> Path:
    """AAC in an MP4 (brand isom, which libmagic calls video/mp4) or Opus in WebM
    (video/webm), with no video stream: what the video extractor hands to audio."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".webm" if path.suffix.lower() == ".webm" else ".mp4"
    with av.open(str(path), "w", format=suffix.lstrip(".")) as out:
        aus = out.add_stream(VIDEO_AUDIO[suffix], rate=VIDEO_RATE, layout="stereo")
        sound = tone(500.0, seconds, rate=VIDEO_RATE)
        _encode_track(out, aus, np.repeat(sound, 2, axis=1))
    return path
