"""`video=shorts`: a short from stills, a voice-over and a music bed, as H.264/AAC MP4.

- Pictures: each image is a shot with a slow Ken Burns move (a zoom in or out of 12 % and a
  drift, eased, picked by the seed). Cuts fall on the beat: shots last whole bars of the bed's
  tempo (`bpm`, from the music plan), or whole beats when bars would be too long for the
  number of images; images are used again in turn when there are more shots than images.
- Sound: the voice-over starts `voice_at_s` in; the music bed is ducked under it by a gain
  that follows the voice's own envelope (10 ms RMS, a 250 ms hold, 80 ms attack, 400 ms
  release: a side-chain compressor's shape), so it dips where words are and comes back in the
  pauses; the mix is peak-limited to -1 dBFS and encoded as 48 kHz stereo AAC.
- Subtitles: one cue per sentence, timed from the voice-over (`Speech.sentences`), burned in
  white with a black outline in WenQuanYi Zen Hei (CJK and Latin), wrapped to the frame; a
  cue's text may hold two lines (Chinese and English).

Frames are drawn and encoded one at a time, so memory holds the prepared images, one frame
and the soundtrack (at most 180 s) whatever the length. 9:16 (720x1280) and 16:9 (1280x720)
are the sizes shorts use (`SIZES`); any even size works.
"""

from __future__ import annotations

import io
import math
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetloom.create.errors import GenerationError
from assetloom.create.generators.audio import (
    PEAK_DBFS,
    Sentence,
    decode_audio,
    limit,
    resample,
)
from assetloom.create.generators.base import VIDEO, Generated, Parent, Recipe, resolve_seed
from assetloom.create.generators.registry import register

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image, ImageFont

MODEL = "shorts-1"
"""The layout, motion and mix rules; bump when they change what a recipe makes."""
SIZES = {"9:16": (720, 1280), "16:9": (1280, 720)}
MAX_DURATION_S = 180.0
MAX_IMAGES = 60
MAX_PIXELS = 1920 * 1920
RATE = 48_000
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
_ZOOM = 1.12
_TAIL_S = 1.0
"""Held after the last word, so the short does not end mid-breath."""
_MIN_SHOT_S = 1.2


@dataclass(frozen=True)
class Cue:
    """A subtitle: its text (a newline between languages) from `start` to `end`, seconds in
    the voice-over's own time."""

    start: float
    end: float
    text: str


def cues_from(sentences: Sequence[Sentence], texts: Sequence[str] | None = None) -> list[Cue]:
    """A cue per spoken sentence; `texts` replace the sentences' words (a translation added
    under the original, say), one per sentence."""
    if texts is not None and len(texts) != len(sentences):
        raise GenerationError(f"{len(texts)} subtitle texts for {len(sentences)} sentences")
    return [
        Cue(s.start, s.end, s.text if texts is None else texts[i]) for i, s in enumerate(sentences)
    ]


@dataclass(frozen=True)
class _Shot:
    start: int
    """First frame."""
    end: int
    image: int
    zoom: tuple[float, float]
    centre: tuple[tuple[float, float], tuple[float, float]]
    """Start and end centre of the view, as fractions of the slack either side."""


class ShortsMaker:
    """The `video=shorts` backend."""

    backend = "shorts"
    model = MODEL

    def generate(
        self,
        prompt: str,
        *,
        duration_s: float | None = None,
        width: int = 1280,
        height: int = 720,
        fps: float = 30.0,
        seed: int | None = None,
        parents: Sequence[Parent] = (),
        images: Sequence[Image.Image | bytes] = (),
        voice_over: bytes | None = None,
        music: bytes | None = None,
        cues: Sequence[Cue | Sentence | tuple[float, float, str]] = (),
        bpm: float | None = None,
        voice_at_s: float = 0.5,
        duck_db: float = -12.0,
        crf: int = 21,
    ) -> Generated:
        """The short. Its parents should name the inputs by role: "image" (in order),
        "voice-over" and "music"; `duration_s` None runs to the voice-over's end plus a
        second (else the music's length, else 2 s an image)."""
        _check_size(width, height, fps)
        if not images:
            raise GenerationError("a short needs at least one image", hint="pass images=[...]")
        if len(images) > MAX_IMAGES:
            raise GenerationError(f"{len(images)} images; a short takes at most {MAX_IMAGES}")
        if bpm is not None and not (isinstance(bpm, int | float) and 30 <= bpm <= 240):
            raise GenerationError(f"bpm {bpm!r} is outside 30 to 240")
        if not -40.0 <= duck_db <= 0.0:
            raise GenerationError(f"duck_db {duck_db} is outside -40 to 0")
        if not 0.0 <= voice_at_s <= 10.0:
            raise GenerationError(f"voice_at_s {voice_at_s} is outside 0 to 10 s")
        if not 0 <= crf <= 51:
            raise GenerationError(f"crf {crf} is outside 0 to 51")
        seed = resolve_seed(seed)
        cue_list = [_cue(c) for c in cues]
        voice = _mono(decode_audio(voice_over, what="voice-over")) if voice_over else None
        bed = _stereo(decode_audio(music, what="music bed")) if music else None
        duration = _duration(duration_s, voice, bed, voice_at_s, len(images))
        pictures = [_prepare(image, i, width, height) for i, image in enumerate(images)]
        frames = round(duration * fps)
        shots = plan_shots(len(pictures), frames, fps, bpm or 120.0, seed)
        soundtrack = mix(voice, bed, duration, voice_at_s=voice_at_s, duck_db=duck_db)
        overlays = _subtitles(cue_list, width, height, voice_at_s)
        data = _encode(pictures, shots, overlays, soundtrack, width, height, fps, frames, crf)
        parameters: dict[str, Any] = {
            "duration_s": duration_s,
            "width": width,
            "height": height,
            "fps": fps,
            "cues": [[c.start, c.end, c.text] for c in cue_list],
            "bpm": bpm,
            "voice_at_s": voice_at_s,
            "duck_db": duck_db,
            "crf": crf,
        }
        recipe = Recipe(VIDEO, self.backend, self.model, prompt, seed, parameters, tuple(parents))
        return Generated(data, "video/mp4", recipe)


# ---------------------------------------------------------------------- inputs
def _check_size(width: int, height: int, fps: float) -> None:
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 64 or value % 2:
            raise GenerationError(
                f"{name} {value!r} must be an even number of pixels, 64 or more",
                hint="9:16 is 720x1280, 16:9 is 1280x720",
            )
    if width * height > MAX_PIXELS:
        raise GenerationError(f"{width}x{height} is more pixels than a short needs (1080p at most)")
    if not (isinstance(fps, int | float) and 1 <= fps <= 60):
        raise GenerationError(f"fps {fps!r} is outside 1 to 60")


def _cue(value: Cue | Sentence | tuple[float, float, str]) -> Cue:
    if isinstance(value, Cue):
        cue = value
    elif isinstance(value, Sentence):
        cue = Cue(value.start, value.end, value.text)
    else:
        try:
            start, end, text = value
            cue = Cue(float(start), float(end), str(text))
        except (TypeError, ValueError) as exc:
            raise GenerationError(f"a subtitle cue must be (start, end, text): {value!r}") from exc
    if not (math.isfinite(cue.start) and math.isfinite(cue.end) and 0 <= cue.start < cue.end):
        raise GenerationError(f"subtitle cue {cue.text!r} has times {cue.start} to {cue.end}")
    return cue


def _mono(decoded: tuple[np.ndarray, int]) -> np.ndarray:
    samples, rate = decoded
    return resample(samples.mean(axis=1), rate, RATE)


def _stereo(decoded: tuple[np.ndarray, int]) -> np.ndarray:
    import numpy as np

    samples, rate = decoded
    if samples.shape[1] == 1:
        samples = np.repeat(samples, 2, axis=1)
    return resample(samples[:, :2], rate, RATE)


def _duration(
    asked: float | None, voice: np.ndarray | None, bed: np.ndarray | None, voice_at: float, n: int
) -> float:
    if asked is None:
        if voice is not None:
            asked = voice_at + len(voice) / RATE + _TAIL_S
        elif bed is not None:
            asked = len(bed) / RATE
        else:
            asked = 2.0 * n
    if not (isinstance(asked, int | float) and math.isfinite(asked) and asked >= 1.0):
        raise GenerationError(f"duration_s {asked!r} must be a number of seconds, 1 or more")
    if asked > MAX_DURATION_S:
        raise GenerationError(
            f"a short of {asked:.1f} s is longer than the {MAX_DURATION_S:.0f} s cap",
            hint="shorten the voice-over or pass a shorter duration_s",
        )
    return float(asked)


def _prepare(image: Image.Image | bytes, index: int, width: int, height: int) -> Image.Image:
    """The image cover-fitted to the frame at the deepest zoom, so no frame is upscaled."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(image, bytes | bytearray):
        try:
            with Image.open(io.BytesIO(image)) as opened:
                opened.load()
                image = ImageOps.exif_transpose(opened)
        except (UnidentifiedImageError, OSError) as exc:
            raise GenerationError(f"image {index + 1} is not a picture: {exc}") from exc
    if not isinstance(image, Image.Image):
        raise GenerationError(f"image {index + 1} is {type(image).__name__}, not a picture")
    picture = image.convert("RGB")
    scale = max(width * _ZOOM / picture.width, height * _ZOOM / picture.height)
    size = (max(1, math.ceil(picture.width * scale)), max(1, math.ceil(picture.height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS)


# ---------------------------------------------------------------------- pictures
def plan_shots(images: int, frames: int, fps: float, bpm: float, seed: int) -> list[_Shot]:
    """Shots covering every frame, cut on beats: whole bars where each image gets one,
    whole beats where bars are too long; at least `_MIN_SHOT_S` each where the beat allows."""
    import numpy as np

    rng = np.random.default_rng([seed, 2])
    beat = 60.0 / bpm
    duration = frames / fps
    ideal = duration / images
    unit = 4 * beat if ideal >= 4 * beat else beat
    per_shot = max(1, round(ideal / unit), math.ceil(_MIN_SHOT_S / unit))
    cut_s = per_shot * unit
    cuts = [round(k * cut_s * fps) for k in range(1, math.ceil(duration / cut_s))]
    bounds = [0, *(c for c in cuts if 0 < c < frames), frames]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < fps * _MIN_SHOT_S / 2:
        del bounds[-2]  # a flash of a last shot: let the one before run on
    shots = []
    for k in range(len(bounds) - 1):
        zoom_in = bool(rng.random() < 0.5)
        zoom = (1.0, _ZOOM) if zoom_in else (_ZOOM, 1.0)
        a = (float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)))
        b = (float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)))
        shots.append(_Shot(bounds[k], bounds[k + 1], k % images, zoom, (a, b)))
    return shots


def _view(shot: _Shot, frame: int, picture: Image.Image, width: int, height: int) -> Image.Image:
    from PIL import Image

    span = max(1, shot.end - shot.start - 1)
    t = (frame - shot.start) / span
    t = t * t * (3 - 2 * t)  # ease in and out
    zoom = shot.zoom[0] + (shot.zoom[1] - shot.zoom[0]) * t
    # The view is width x height at _ZOOM on the prepared picture, larger when zoomed out.
    view_w, view_h = width * _ZOOM / zoom, height * _ZOOM / zoom
    (ax, ay), (bx, by) = shot.centre
    fx, fy = ax + (bx - ax) * t, ay + (by - ay) * t
    cx = picture.width / 2 + fx * (picture.width - view_w) / 2
    cy = picture.height / 2 + fy * (picture.height - view_h) / 2
    box = (cx - view_w / 2, cy - view_h / 2, cx + view_w / 2, cy + view_h / 2)
    return picture.resize((width, height), Image.Resampling.BILINEAR, box=box)


# ---------------------------------------------------------------------- subtitles
@dataclass(frozen=True)
class _Overlay:
    start: float
    end: float
    image: Image.Image
    position: tuple[int, int]


def _font(size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    if not FONT.is_file():
        raise GenerationError(
            f"the subtitle font {FONT} is not installed",
            hint="apt-get install fonts-wqy-zenhei (scripts/setup.sh does)",
        )
    return ImageFont.truetype(str(FONT), size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Lines no wider than `width`: Latin breaks between words, CJK between characters."""
    import re

    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        tokens = re.findall(r"[A-Za-z0-9'’\-.,!?%:;]+\s*|\s+|.", paragraph)
        line = ""
        for token in tokens:
            if line and font.getlength(line + token.rstrip()) > width:
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line += token
        if line.strip():
            lines.append(line.rstrip())
    return lines


def _subtitles(cues: Sequence[Cue], width: int, height: int, offset: float) -> list[_Overlay]:
    """Each cue drawn once, white on a black outline, centred in the lower third."""
    from PIL import Image, ImageDraw

    short = min(width, height)
    overlays = []
    for cue in cues:
        size = max(14, round(short * 0.075))
        while True:
            font = _font(size)
            lines = _wrap(cue.text, font, width * 0.88)
            if len(lines) <= 4 or size <= 14:
                break
            size = round(size * 0.85)
        stroke = max(2, size // 12)
        line_h = round(size * 1.3)
        box_w = round(max(font.getlength(line) for line in lines) + 4 * stroke) if lines else 1
        layer = Image.new("RGBA", (max(1, box_w), line_h * len(lines) + 2 * stroke), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        for i, line in enumerate(lines):
            x = (box_w - font.getlength(line)) / 2
            draw.text(
                (x, stroke + i * line_h),
                line,
                font=font,
                fill=(255, 255, 255, 255),
                stroke_width=stroke,
                stroke_fill=(0, 0, 0, 255),
            )
        bottom = height * (0.80 if height > width else 0.92)
        position = ((width - layer.width) // 2, round(bottom - layer.height))
        overlays.append(_Overlay(cue.start + offset, cue.end + offset, layer, position))
    return overlays


# ---------------------------------------------------------------------- sound
def duck_gain(voice: np.ndarray, rate: int, duck_db: float) -> np.ndarray:
    """Per-sample gain for the music: `duck_db` where the voice speaks, 0 dB elsewhere, moved
    between the two like a side-chain compressor (hold 250 ms, attack 80 ms, release 400 ms)."""
    import numpy as np
    from scipy.ndimage import maximum_filter1d

    hop = rate // 100
    frames = len(voice) // hop + 1
    padded = np.zeros(frames * hop, dtype=np.float32)
    padded[: len(voice)] = voice
    rms = np.sqrt((padded.reshape(frames, hop).astype(np.float64) ** 2).mean(axis=1))
    with np.errstate(divide="ignore"):
        level = 20 * np.log10(rms)
    active = level > max(-50.0, float(level.max(initial=-120.0)) - 30.0)
    active = maximum_filter1d(active.astype(np.uint8), size=51, origin=0).astype(bool)
    target = np.where(active, duck_db, 0.0)
    down, up = 1 - math.exp(-1 / 8.0), 1 - math.exp(-1 / 40.0)  # in 10 ms frames
    smooth = np.empty_like(target)
    value = 0.0
    for i, goal in enumerate(target):
        value += (goal - value) * (down if goal < value else up)
        smooth[i] = value
    gain_db = np.interp(np.arange(len(voice)) / hop, np.arange(frames), smooth)
    return (10 ** (gain_db / 20)).astype(np.float32)


def mix(
    voice: np.ndarray | None,
    bed: np.ndarray | None,
    duration: float,
    *,
    voice_at_s: float,
    duck_db: float,
) -> np.ndarray:
    """The stereo soundtrack at RATE: the bed (faded out if cut), ducked under the voice."""
    import numpy as np

    n = round(duration * RATE)
    out = np.zeros((n, 2), dtype=np.float32)
    if bed is not None:
        music = bed[:n].copy()
        if len(bed) > n:
            fade = min(RATE, n // 4)
            music[n - fade :] *= np.linspace(1, 0, fade, dtype=np.float32)[:, None]
        out[: len(music)] = music
    if voice is not None:
        at = round(voice_at_s * RATE)
        spoken = voice[: max(0, n - at)]
        gain = duck_gain(spoken, RATE, duck_db)
        out[at : at + len(spoken)] *= gain[:, None]
        out[at : at + len(spoken)] += spoken[:, None]
    return limit(out, RATE, PEAK_DBFS)


# ---------------------------------------------------------------------- encoding
def _frames(
    pictures: Sequence[Image.Image],
    shots: Sequence[_Shot],
    overlays: Sequence[_Overlay],
    width: int,
    height: int,
    fps: float,
) -> Iterator[Image.Image]:
    for shot in shots:
        for index in range(shot.start, shot.end):
            frame = _view(shot, index, pictures[shot.image], width, height)
            t = index / fps
            for overlay in overlays:
                if overlay.start <= t < overlay.end:
                    frame.paste(overlay.image, overlay.position, overlay.image)
            yield frame


def _encode(
    pictures: Sequence[Image.Image],
    shots: Sequence[_Shot],
    overlays: Sequence[_Overlay],
    soundtrack: np.ndarray,
    width: int,
    height: int,
    fps: float,
    frames: int,
    crf: int,
) -> bytes:
    import av
    import numpy as np

    rate = Fraction(fps).limit_denominator(1001)
    with tempfile.TemporaryDirectory(prefix="assetloom-short-") as folder:
        path = Path(folder) / "short.mp4"
        with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
            video = container.add_stream(
                "libx264",
                rate=rate,
                options={"crf": str(crf), "preset": "veryfast", "g": str(round(2 * fps))},
            )
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            audio = container.add_stream("aac", rate=RATE, layout="stereo")
            audio.bit_rate = 128_000
            samples_per_frame = RATE / float(rate)
            sent = 0
            for index, picture in enumerate(_frames(pictures, shots, overlays, width, height, fps)):
                frame = av.VideoFrame.from_ndarray(np.asarray(picture), format="rgb24")
                frame.pts = index
                frame.time_base = 1 / rate
                container.mux(video.encode(frame))
                upto = min(len(soundtrack), round((index + 1) * samples_per_frame))
                while upto - sent >= 1024 or (index == frames - 1 and sent < len(soundtrack)):
                    block = soundtrack[sent : sent + 1024]
                    piece = av.AudioFrame.from_ndarray(
                        np.ascontiguousarray(block.T), format="fltp", layout="stereo"
                    )
                    piece.sample_rate, piece.pts = RATE, sent
                    container.mux(audio.encode(piece))
                    sent += len(block)
            container.mux(video.encode(None))
            container.mux(audio.encode(None))
        return path.read_bytes()


@register(VIDEO, "shorts")
def _shorts(_argument: str) -> ShortsMaker:
    return ShortsMaker()
