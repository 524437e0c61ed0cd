"""Video (MP4/MOV H.264/H.265, WebM VP9, MKV...): metadata, key frames per shot, a poster,
a preview strip, the sound track for speech recognition, and key-frame PDQ for copies.

One streaming pass over the file, decoding only what is needed: non-reference frames are
skipped (`skip_frame = "NONREF"`: H.264/H.265 decoders honour it; VP9's ignores it and decodes
all), each decoded frame is scaled to 64 px for PySceneDetect's content detector (hard cuts),
and only the frames taken as key frames are scaled to `KEY_SIZE`. Files whose decoded pixels
would exceed `SCAN_PIXELS` (a 10-hour film) are sampled instead: `cap` evenly spaced moments,
each a seek to the key frame before it and a short decode forward, so the time is bounded by
the number of samples, not the length. The whole file is never read into memory; the sound
track is kept up to `SPEECH_SECONDS` (16 kHz mono float32: 115 MB at the cap).

Key frames: one per shot (`SETTLE` after the cut, flat frames skipped), another every
`SHOT_STEP` seconds within a long shot, at most `FRAMES_PER_MINUTE` on average (the closest
pair is thinned first) and `MAX_KEY_FRAMES` in all. A query (verify) also samples every
`QUERY_STEP` seconds so its frames meet the library's near the same moments
(`core.video_match`).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from assetloom.core import video_match
from assetloom.core.assets import Fingerprint, MediaType, Segment
from assetloom.core.copy_rules import PDQ_MIN_QUALITY
from assetloom.errors import BadInputError, UnsupportedMediaError
from assetloom.ingest.extractors.base import extractor_for, register
from assetloom.ingest.extractors.image import make_thumbnail
from assetloom.ingest.paths import display_path
from assetloom.ingest.records import Audio, ModelInputs, Options, Prepared

KEY_SIZE = 400
"""Long side of key-frame pictures: CLIP reads 224 px of the short side; PDQ reads 64 px."""
ANALYSIS_WIDTH = 64
STRIP_FRAMES = 8
STRIP_HEIGHT = 90
SHOT_STEP = 5.0
FRAMES_PER_MINUTE = 12
MIN_KEY_FRAMES = 12
MAX_KEY_FRAMES = 240
QUERY_MAX_FRAMES = 600
SCAN_PIXELS = 30 * 60 * 30 * 1280 * 720
"""Decoded pixels above which a file is sampled, not scanned: 30 minutes of 720p at 30 fps."""
SAMPLE_DECODE_FRAMES = 300
"""Frames decoded forward from a seek's key frame at most, per sample."""
SPEECH_SECONDS = 30 * 60
SPEECH_RATE = 16_000
FLAT_STD = 6.0
"""Grey-level spread (0-255) below which a frame is flat (black, a fade, a solid card)."""
CUT_THRESHOLD = 27.0
MIN_SHOT = 0.5
POSTER_AT = 0.1
"""The poster is the first key frame after this share of the duration."""

# libmagic calls audio-only MP4/MOV/WebM/MKV video/*: the audio extractor's MIME type for each.
AUDIO_MIMES = {
    "video/mp4": "audio/mp4",
    "video/quicktime": "audio/mp4",
    "video/x-m4v": "audio/mp4",
    "video/3gpp": "audio/3gpp",
    "video/webm": "audio/webm",
    "video/x-matroska": "audio/x-matroska",
    "video/ogg": "audio/ogg",
}
_LOCATION_KEYS = ("com.apple.quicktime.location.ISO6709", "location", "location-eng", "LOCATION")
_CREATION_KEYS = ("com.apple.quicktime.creationdate", "creation_time", "DATE_RECORDED")
_ISO6709 = re.compile(r"([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?(?:CRS.*)?/?")
# Container tags kept (short name <- the keys muxers and phones write), at most _TAG_CHARS each.
_TAG_KEYS = {
    "title": ("title", "TITLE", "com.apple.quicktime.title"),
    "artist": ("artist", "ARTIST", "com.apple.quicktime.artist"),
    "comment": ("comment", "COMMENT", "com.apple.quicktime.comment"),
    "description": ("description", "DESCRIPTION", "com.apple.quicktime.description"),
    "make": ("make", "com.apple.quicktime.make", "com.android.manufacturer"),
    "model": ("model", "com.apple.quicktime.model", "com.android.model"),
    "software": ("com.apple.quicktime.software",),
}
_TAG_CHARS = 500


class VideoExtractor:
    media_type: ClassVar[MediaType] = MediaType.VIDEO

    def accepts(self, mime: str) -> bool:
        return mime.startswith("video/")

    def mime_of(self, where: str, mime: str) -> str:
        return mime

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        import av

        where = display_path(path)
        try:
            container = av.open(str(path), metadata_errors="replace")
        except av.FFmpegError as exc:
            raise BadInputError(
                f"{where}: not a readable video (damaged or truncated: {_reason(exc)})"
            ) from exc
        with container:
            stream = _video_stream(container)
            if stream is None:
                return _hand_to_audio(path, record, opts, query, container)
            try:
                return _Extraction(container, stream, record, opts, query, where).run()
            except av.FFmpegError as exc:
                raise BadInputError(f"{where}: damaged video ({_reason(exc)})") from exc


def _video_stream(container: Any) -> Any | None:
    """The first real video stream (an MP4's cover picture is a video stream too)."""
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _hand_to_audio(
    path: Path, record: Prepared, opts: Options, query: bool, container: Any
) -> ModelInputs:
    where = display_path(path)
    if not container.streams.audio:
        raise BadInputError(f"{where}: no video or audio stream in this {record.mime} file")
    codec = container.streams.audio[0].codec_context.name
    mime = AUDIO_MIMES.get(record.mime, "audio/" + record.mime.removeprefix("video/"))
    audio = extractor_for(mime)
    if audio is None or audio.media_type is not MediaType.AUDIO:
        raise UnsupportedMediaError(f"{where}: audio only ({codec}, no video stream): {mime}")
    record.media_type, record.mime = MediaType.AUDIO, mime
    return audio.extract(path, record, opts, query=query)


@dataclass(slots=True)
class _KeyFrame:
    seconds: float
    image: Image.Image
    fingerprints: list[Fingerprint]


@dataclass(slots=True)
class _Picks:
    """Key frames kept so far, thinned to `cap` by dropping the one closest to its
    predecessor (the first is always kept): an even spread without holding every candidate."""

    cap: int
    frames: list[_KeyFrame] = field(default_factory=list)

    def add(self, frame: _KeyFrame) -> None:
        self.frames.append(frame)
        if len(self.frames) > self.cap:
            times = [f.seconds for f in self.frames]
            gaps = np.diff(times)
            del self.frames[1 + int(np.argmin(gaps))]


class _Extraction:
    def __init__(
        self, container: Any, stream: Any, record: Prepared, opts: Options, query: bool, where: str
    ) -> None:
        self.container, self.stream, self.record = container, stream, record
        self.opts, self.query, self.where = opts, query, where
        self.audio_stream = container.streams.audio[0] if container.streams.audio else None
        self.duration = _duration(container, stream)
        self.video_duration = _stream_duration(stream) or self.duration
        self.rotation = _rotate_tag(stream)
        self.fps = float(stream.average_rate or stream.guessed_rate or 0) or None
        self.display = _display_size(stream)
        minutes = (self.duration or 0) / 60
        cap = min(MAX_KEY_FRAMES, max(MIN_KEY_FRAMES, math.ceil(FRAMES_PER_MINUTE * minutes)))
        # A sampled file's moments: the library's cap on both sides, so a query samples
        # the same times as its original did.
        self.samples = cap
        self.picks = _Picks(QUERY_MAX_FRAMES if query else cap)
        self.step = video_match.QUERY_STEP if query else SHOT_STEP
        if query and self.duration:
            self.step = max(video_match.QUERY_STEP, self.duration / QUERY_MAX_FRAMES)
        self.strip: list[tuple[float, Image.Image]] = []
        self.first: Image.Image | None = None
        self.last_time = 0.0
        self.decoded = 0
        self.shots = 0
        self.speech: list[np.ndarray] = []
        self.speech_samples = 0
        self.resampler: Any = None

    # ------------------------------------------------------------------ the pass
    def run(self) -> ModelInputs:
        w, h = self.stream.codec_context.width, self.stream.codec_context.height
        if not w or not h:
            raise BadInputError(f"{self.where}: the video stream has no picture size")
        pixels = (self.duration or 0) * (self.fps or 30) * w * h
        sampled = self.duration is not None and pixels > SCAN_PIXELS
        if sampled:
            self._sample()
            if not self.query:
                self._speech_only()
        else:
            self._scan()
        if self.decoded == 0:
            raise BadInputError(f"{self.where}: no decodable video frame (damaged or truncated)")
        self._check_complete(sampled)
        return self._finish(sampled)

    def _scan(self) -> None:
        """Decode everything once (non-reference frames skipped), finding cuts as we go."""
        from scenedetect import ContentDetector, FrameTimecode

        # The shortest-shot rule is applied here, not by PySceneDetect's filter, which also
        # suppresses a cut within MIN_SHOT of the first frame (a trimmed copy's first cut).
        detector = ContentDetector(threshold=CUT_THRESHOLD, min_scene_len=0)
        last_cut = -MIN_SHOT
        fps = self.fps or 25.0
        strip_at = self._strip_times()
        pending: float | None = None
        streams = [self.stream]
        if self.audio_stream is not None and not self.query:
            streams.append(self.audio_stream)
        self._decode_options()
        last: tuple[Any, float, np.ndarray] | None = None
        # A shot whose frames are all of low PDQ quality still gets one key frame (for
        # search): its first candidate, kept until the shot ends.
        fallback: tuple[Any, float] | None = None
        for frame, seconds in self._frames(self.container.demux(*streams)):
            tiny = self._tiny(frame)
            last = (frame, seconds, tiny)
            cut = detector.process_frame(FrameTimecode(round(seconds * fps), fps), tiny)
            if cut and self.decoded > 1 and seconds - last_cut >= MIN_SHOT:
                last_cut = seconds
            else:
                cut = []
            if pending is None or cut:
                if fallback is not None:
                    self._take(*fallback)
                fallback = None
                pending = seconds + video_match.SETTLE
                self.shots += 1
                taken_in_shot = False
            if strip_at and seconds >= strip_at[0]:
                self.strip.append((seconds, self._picture(frame, STRIP_HEIGHT, by_height=True)))
                while strip_at and seconds >= strip_at[0]:
                    strip_at.pop(0)
            if seconds + 1e-6 >= pending:
                if float(tiny.std()) < FLAT_STD:
                    pending = seconds + MIN_SHOT
                elif self._take(frame, seconds, trusted=True):
                    pending, fallback, taken_in_shot = seconds + self.step, None, True
                else:
                    pending = seconds + MIN_SHOT
                    if fallback is None and not taken_in_shot:
                        fallback = (frame, seconds)
        if fallback is not None:
            self._take(*fallback)
        if not self.picks.frames and last is not None and float(last[2].std()) >= FLAT_STD:
            self._take(last[0], last[1])  # a clip shorter than SETTLE

    def _sample(self) -> None:
        """Evenly spaced moments of a long file, each decoded from the key frame before it."""
        assert self.duration is not None
        count = self.samples
        self._decode_options()
        base = self.stream.time_base
        for i in range(count):
            target = (i + 0.5) * self.duration / count
            self.container.seek(
                int(target / base) + (self.stream.start_time or 0), stream=self.stream
            )
            decoded = self._frames(self.container.demux(self.stream))
            for taken, (frame, seconds) in enumerate(decoded, start=1):
                if seconds + 1e-6 >= target or taken >= SAMPLE_DECODE_FRAMES:
                    if float(self._tiny(frame).std()) >= FLAT_STD:
                        self._take(frame, seconds)
                    if len(self.strip) < STRIP_FRAMES and i % max(1, count // STRIP_FRAMES) == 0:
                        self.strip.append(
                            (seconds, self._picture(frame, STRIP_HEIGHT, by_height=True))
                        )
                    break

    def _speech_only(self) -> None:
        if self.audio_stream is None:
            return
        self.container.seek(0)
        for packet in self.container.demux(self.audio_stream):
            self._audio(packet)
            if self.speech_samples >= SPEECH_SECONDS * SPEECH_RATE:
                break

    def _decode_options(self) -> None:
        ctx = self.stream.codec_context
        ctx.thread_type = "AUTO"
        ctx.skip_frame = "NONREF"

    def _frames(self, packets: Iterator[Any]) -> Iterator[tuple[Any, float]]:
        """Decoded video frames with their times, feeding audio packets to the speech track."""
        start = (
            float(self.stream.start_time * self.stream.time_base) if self.stream.start_time else 0
        )
        for packet in packets:
            if packet.stream is not self.stream:
                self._audio(packet)
                continue
            for frame in packet.decode():
                if frame.time is not None:
                    seconds = max(0.0, float(frame.time) - start)
                else:  # no timestamp: the next frame after the last one
                    seconds = self.last_time + (1 / (self.fps or 25) if self.decoded else 0.0)
                if self.decoded == 0:
                    self.rotation = _frame_rotation(frame, self.rotation)
                self.decoded += 1
                self.last_time = max(self.last_time, seconds)
                if self.first is None:
                    self.first = self._picture(frame, KEY_SIZE)
                yield frame, seconds

    def _audio(self, packet: Any) -> None:
        if self.speech_samples >= SPEECH_SECONDS * SPEECH_RATE:
            return
        import av

        if self.resampler is None:
            self.resampler = av.AudioResampler(format="flt", layout="mono", rate=SPEECH_RATE)
        try:
            frames = packet.decode()
        except av.FFmpegError:
            return  # a damaged audio packet loses a few milliseconds, not the video
        for frame in frames:
            for out in self.resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1)
                self.speech.append(samples)
                self.speech_samples += len(samples)

    # ------------------------------------------------------------------ pictures
    def _tiny(self, frame: Any) -> np.ndarray:
        w, h = self.stream.codec_context.width, self.stream.codec_context.height
        height = max(2, round(ANALYSIS_WIDTH * h / w / 2) * 2)
        small = frame.reformat(
            width=ANALYSIS_WIDTH, height=height, format="bgr24", interpolation="AREA"
        )
        return small.to_ndarray()

    def _picture(self, frame: Any, size: int, *, by_height: bool = False) -> Image.Image:
        """The frame as displayed (pixel aspect and rotation applied), `size` px on its long
        side (or high, `by_height`), scaled by FFmpeg from the decoded planes."""
        dw, dh = self.display
        if self.rotation in (90, 270):
            dw, dh = dh, dw
        scale = size / (dh if by_height else max(dw, dh))
        tw, th = max(2, round(dw * scale)), max(2, round(dh * scale))
        if self.rotation in (90, 270):
            tw, th = th, tw
        img = frame.reformat(width=tw, height=th, format="rgb24", interpolation="AREA").to_image()
        return _rotate(img, self.rotation)

    def _take(self, frame: Any, seconds: float, *, trusted: bool = False) -> bool:
        """Keep `frame` as a key frame; `trusted`: only if its PDQ is of trusted quality
        (a low-contrast frame's hash is mostly noise and cannot match)."""
        from assetloom.ingest.image_fingerprints import _centre_crop, _pdq

        seconds = round(seconds, 3)  # the fingerprints keep milliseconds
        img = self._picture(frame, KEY_SIZE)
        whole = _pdq(img, video_match.FRAME_KIND)
        if trusted and whole.quality is not None and whole.quality < PDQ_MIN_QUALITY:
            return False
        crop = video_match.QUERY_CROP if self.query else video_match.STORED_CROP
        cropped = _pdq(_centre_crop(img, crop), video_match.FRAME_KIND)
        fps = [
            video_match.frame_fingerprint(whole.kind, whole.value, whole.quality, seconds),
            video_match.frame_fingerprint(
                video_match.frame_kind(crop, query=self.query),
                cropped.value,
                cropped.quality,
                seconds,
            ),
        ]
        self.picks.add(_KeyFrame(seconds, img, fps))
        return True

    # ------------------------------------------------------------------ the record
    def _check_complete(self, sampled: bool) -> None:
        """A stream ending well before its stated duration is a truncated file."""
        stated = self.video_duration
        if sampled or not stated:
            return
        frame = 1 / (self.fps or 25)
        if self.last_time + 1.0 + 4 * frame < stated * 0.9:
            raise BadInputError(
                f"{self.where}: truncated video: its frames stop at {self.last_time:.1f} s of"
                f" the {stated:.1f} s it states",
                hint="the file was cut short (an unfinished copy or download)",
            )

    def _finish(self, sampled: bool) -> ModelInputs:
        rec = self.record
        duration = round(self.duration or self.last_time + 1 / (self.fps or 25), 3)
        rec.width, rec.height = self.display
        if self.rotation in (90, 270):
            rec.width, rec.height = rec.height, rec.width
        rec.metadata = self._metadata(duration, sampled)
        frames = self.picks.frames
        times = [f.seconds for f in frames]
        rec.fingerprints = [fp for f in frames for fp in f.fingerprints]
        poster = _poster(frames, duration, self.first)
        inputs = ModelInputs(images=[poster] if poster is not None else [])
        if self.query:
            return inputs
        if poster is not None:
            rec.thumbnail = make_thumbnail(poster, self.opts.thumbnail_size)
        strip = self.strip or [(f.seconds, f.image) for f in frames[:STRIP_FRAMES]]
        if strip:
            rec.derived["strip.webp"] = _strip(strip)
        for i, f in enumerate(frames):
            end = times[i + 1] if i + 1 < len(times) else duration
            inputs.frames.append((Segment("frame", start=f.seconds, end=end), f.image))
        if self.speech:
            samples = np.concatenate(self.speech)[: SPEECH_SECONDS * SPEECH_RATE]
            inputs.speech = Audio(samples.astype(np.float32, copy=False), SPEECH_RATE)
        return inputs

    def _metadata(self, duration: float, sampled: bool) -> dict[str, Any]:
        """Figures of the file, tags kept short; `transcript_covers_s` where the speech
        track stops at its cap (as for audio)."""
        ctx = self.stream.codec_context
        meta: dict[str, Any] = {
            "duration": round(duration, 3),
            "codec": ctx.name,
            "fps": round(self.fps, 3) if self.fps else None,
            "rotation": self.rotation,
            "key_frames": len(self.picks.frames),
        }
        if self.stream.profile:
            meta["profile"] = self.stream.profile
        if not sampled:
            meta["shots"] = self.shots
        if self.container.bit_rate:
            meta["bit_rate"] = int(self.container.bit_rate)
        tags = {**dict(self.stream.metadata), **dict(self.container.metadata)}
        if (created := _creation_time(tags)) is not None:
            meta["creation_time"] = created
        if (gps := _location(tags)) is not None:
            meta["gps"] = gps
        found = {
            name: str(value)[:_TAG_CHARS]
            for name, keys in _TAG_KEYS.items()
            if (value := next((tags[k] for k in keys if tags.get(k)), None))
        }
        if found:
            meta["tags"] = found
        # What keyword search reads (app.understanding), named as for audio and images.
        if found.get("title"):
            meta["title"] = found["title"]
        if description := found.get("description") or found.get("comment"):
            meta["description"] = description
        if self.audio_stream is not None:
            actx = self.audio_stream.codec_context
            meta["audio_codec"] = actx.name
            meta["sample_rate"] = actx.sample_rate
            meta["channels"] = actx.channels
            if self.speech_samples >= SPEECH_SECONDS * SPEECH_RATE:
                meta["transcript_covers_s"] = float(SPEECH_SECONDS)
        return {k: v for k, v in meta.items() if v is not None}

    def _strip_times(self) -> list[float]:
        if not self.duration or self.query:
            return []
        return [(i + 0.5) * self.duration / STRIP_FRAMES for i in range(STRIP_FRAMES)]


def _poster(
    frames: list[_KeyFrame], duration: float, first: Image.Image | None
) -> Image.Image | None:
    """The first key frame after `POSTER_AT` of the duration (key frames are never flat),
    else the last key frame, else the first decoded frame."""
    for f in frames:
        if f.seconds >= POSTER_AT * duration:
            return f.image
    return frames[-1].image if frames else first


def _strip(pictures: list[tuple[float, Image.Image]]) -> bytes:
    """The pictures side by side, in time order, as one WebP."""
    images = [img for _, img in sorted(pictures, key=lambda p: p[0])]
    height = max(img.height for img in images)
    strip = Image.new("RGB", (sum(img.width for img in images), height))
    x = 0
    for img in images:
        strip.paste(img, (x, 0))
        x += img.width
    out = io.BytesIO()
    strip.save(out, "WEBP", quality=70, method=1)
    return out.getvalue()


def _duration(container: Any, stream: Any) -> float | None:
    if container.duration:
        return float(container.duration) / 1_000_000
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _stream_duration(stream: Any) -> float | None:
    """The video track's own length (an audio track may run longer): the stream's duration,
    or Matroska's per-track DURATION tag."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION", "")
    if m := re.fullmatch(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)", tag.strip()):
        return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return None


def _display_size(stream: Any) -> tuple[int, int]:
    """Coded size with the pixel aspect ratio applied (anamorphic video), before rotation."""
    w, h = stream.codec_context.width, stream.codec_context.height
    sar = stream.sample_aspect_ratio
    if sar and sar != 1 and sar > 0:
        w = round(w * Fraction(sar))
    return w, h


def _rotate_tag(stream: Any) -> int:
    """Clockwise degrees from an old-style "rotate" tag (newer files carry a display matrix,
    read from the first frame)."""
    try:
        return int(stream.metadata.get("rotate", 0)) % 360
    except ValueError:
        return 0


def _frame_rotation(frame: Any, fallback: int) -> int:
    """Clockwise degrees to turn the picture upright: FFmpeg's display matrix angle is
    counter-clockwise; snapped to quarter turns."""
    rotation = getattr(frame, "rotation", 0) or 0
    if not rotation:
        return fallback
    return round(-rotation / 90) % 4 * 90


def _rotate(img: Image.Image, clockwise: int) -> Image.Image:
    turns = {
        90: Image.Transpose.ROTATE_270,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }
    return img.transpose(turns[clockwise]) if clockwise in turns else img


def _creation_time(tags: dict[str, str]) -> str | None:
    for key in _CREATION_KEYS:
        text = tags.get(key)
        if not text:
            continue
        try:
            when = datetime.fromisoformat(text.strip().replace(" ", "T"))
        except ValueError:
            continue
        if when.year <= 1970:
            continue  # muxers write the epoch (or 1904) for "unknown"
        if when.tzinfo is not None:
            when = when.astimezone(UTC)
        return when.isoformat()
    return None


def _location(tags: dict[str, str]) -> dict[str, float] | None:
    """ISO 6709 ("+48.8584+002.2945+035.0/", QuickTime ©xyz) as the images' gps shape."""
    for key in _LOCATION_KEYS:
        text = tags.get(key)
        if text and (gps := parse_iso6709(text)) is not None:
            return gps
    return None


def parse_iso6709(text: str) -> dict[str, float] | None:
    m = _ISO6709.fullmatch(text.strip())
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    out = {"latitude": round(lat, 7), "longitude": round(lon, 7)}
    if m.group(3) is not None:
        out["altitude_m"] = round(float(m.group(3)), 2)
    return out


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(": '")[0].strip() or type(exc).__name__


register(VideoExtractor())
