"""Audio files (WAV, MP3, AAC/M4A, FLAC, Ogg Vorbis and Opus): metadata and tags, loudness,
a Chromaprint fingerprint with its lookup keys, cover art or a waveform as the thumbnail,
and the speech track for speech recognition, all from one streamed decode with PyAV.

The work is bounded whatever the file claims: the decode from the start stops after the
first `FULL_SECONDS` (30 min; `FINGERPRINT_SECONDS` for a query), and a longer file's
loudness and waveform come from `SAMPLED_WINDOWS` windows spread over the rest, so a
10-hour recording costs about 35 minutes of decoding, never 10 hours. Nothing holds more
than the speech track (16 kHz mono float32, made only when understanding is on, since only
the model steps read it: 115 MB at the cap) and two minutes of fingerprint PCM (2.6 MB).

Chromaprint runs as `fpcalc` on PCM piped to it, not in-process through libchromaprint:
Debian's library links the system FFmpeg, which would then share the worker with the
FFmpeg PyAV bundles.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import warnings
from contextlib import suppress
from pathlib import Path
from typing import Any, ClassVar

import av
import numpy as np
from PIL import Image, ImageDraw, UnidentifiedImageError

from assetloom.core.assets import Fingerprint, MediaType
from assetloom.core.audio_match import (
    CHROMAPRINT,
    CHROMAPRINT_KEY,
    FINGERPRINT_SECONDS,
    SAMPLE_RATE,
    index_keys,
    to_bytes,
)
from assetloom.errors import BadInputError, UnsupportedMediaError
from assetloom.ingest.extractors.base import register
from assetloom.ingest.extractors.image import make_thumbnail
from assetloom.ingest.loudness import LoudnessMeter, channel_weights
from assetloom.ingest.paths import display_path
from assetloom.ingest.records import Audio, ModelInputs, Options, Prepared

SPEECH_RATE = 16_000
FULL_SECONDS = 30 * 60
"""Decoded whole up to here; past it, sampled."""
SPEECH_SECONDS = FULL_SECONDS
"""The speech track handed to speech recognition stops here (metadata says so)."""
SAMPLED_WINDOWS = 48
WINDOW_SECONDS = 5.0
MAX_DECODE_ERRORS = 64
"""Packets that fail to decode before the rest of a damaged file is given up."""
MIN_FINGERPRINT_SECONDS = 3.0
"""Chromaprint gives nothing for less; no excerpt that short can be matched anyway."""

# Symbolic music (a score, not sound): libmagic calls it audio, FFmpeg cannot play it.
_SCORES = frozenset({"audio/midi", "audio/x-midi", "audio/sp-midi"})
_TAGS = (
    "title",
    "artist",
    "album_artist",
    "album",
    "genre",
    "composer",
    "date",
    "track",
    "comment",
    "description",
    "copyright",
    "publisher",
)
_KEYWORD_TAGS = ("artist", "album_artist", "album", "genre", "composer")
_TAG_CHARS = 1000
_WAVE_BACK = (24, 32, 48)
_WAVE_PEAK = (96, 165, 250)


class AudioExtractor:
    media_type: ClassVar[MediaType] = MediaType.AUDIO

    def accepts(self, mime: str) -> bool:
        return mime.startswith("audio/") and mime not in _SCORES

    def mime_of(self, where: str, mime: str) -> str:
        return mime

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        """A query (verify) only needs the fingerprint: its decode stops at two minutes and
        makes no speech track, loudness or thumbnail."""
        where = display_path(path)
        try:
            container = av.open(str(path), metadata_errors="ignore")
        except av.FFmpegError as exc:
            raise BadInputError(
                f"{where}: not a readable audio file ({_reason(exc)})",
                hint="the file may be damaged, or in a format FFmpeg cannot read",
            ) from exc
        with container:
            if not container.streams.audio:
                raise BadInputError(f"{where}: no audio stream in the file")
            track = _Decode(container, where, query=query, speech=opts.embed and not query)
            track.run()
            record.metadata = track.metadata()
            fp = _chromaprint(bytes(track.pcm), where)
            if len(fp):
                record.fingerprints = [Fingerprint(CHROMAPRINT, to_bytes(fp))]
                if not query:
                    keys = [Fingerprint(CHROMAPRINT_KEY, k) for k in index_keys(fp)]
                    record.fingerprints += keys
            if query:
                return ModelInputs()
            record.thumbnail = _thumbnail(track, opts)
            record.metadata["thumbnail"] = "cover art" if track.cover_used else "waveform"
            return ModelInputs(speech=track.speech_track())


class _Decode:
    """One pass from the start (fingerprint PCM, speech track, loudness), then sampled
    windows over whatever lies past the pass's limit (loudness and waveform only)."""

    def __init__(
        self, container: av.container.InputContainer, where: str, *, query: bool, speech: bool
    ) -> None:
        self.container = container
        self.where = where
        self.query = query
        self.speech = speech
        self.stream = container.streams.audio[0]
        self.limit = FINGERPRINT_SECONDS if query else FULL_SECONDS
        self.declared = _declared_duration(container, self.stream)
        pictures = [
            s for s in container.streams.video if s.disposition & av.stream.Disposition.attached_pic
        ]
        self.picture = pictures[0] if pictures else None
        self.cover: bytes | None = None
        self.cover_used = False
        self.pcm = bytearray()
        self.samples = 0
        self.rate = 0
        self.complete = False
        self.sampled = False
        self.errors = 0
        self.first_error = ""
        self.meter: LoudnessMeter | None = None
        self._speech: np.ndarray | None = None
        self._speech_len = 0
        self._fp_rs: av.AudioResampler | None = None
        self._speech_rs: av.AudioResampler | None = None
        self._native_rs: av.AudioResampler | None = None

    # ------------------------------------------------------------------ the decode
    def run(self) -> None:
        self._first_pass()
        if self.samples == 0:
            if not self.errors and not self.declared:
                raise BadInputError(f"{self.where}: the file holds no audio (0 samples)")
            why = f" ({self.first_error})" if self.first_error else ""
            raise BadInputError(f"{self.where}: damaged audio: no frame could be decoded{why}")
        if not self.complete and not self.query and self.meter is not None:
            self._sample_rest()

    @property
    def seconds(self) -> float:
        return self.samples / self.rate if self.rate else 0.0

    def _first_pass(self) -> None:
        streams = [self.stream]
        if self.picture is not None and not self.query:
            streams.append(self.picture)
        for packet in self._packets(streams):
            if packet.stream.index != self.stream.index:
                if self.cover is None and packet.size:
                    self.cover = bytes(packet)
                continue
            for frame in self._frames(packet):
                if not self._take(frame):
                    self.complete = True  # the stream changed shape: what came before stands
                    return
            if self.seconds >= self.limit:
                return
            if self.errors > MAX_DECODE_ERRORS:
                self.complete = True
                return
        self.complete = True

    def _packets(self, streams: list[Any]) -> Any:
        """Demuxed packets; a read error ends the file where it happened."""
        packets = self.container.demux(*streams)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError as exc:
                self._error(exc)
                return
            yield packet

    def _frames(self, packet: av.Packet) -> list[av.AudioFrame]:
        try:
            return list(packet.decode())
        except av.FFmpegError as exc:
            self._error(exc)
            return []

    def _error(self, exc: av.FFmpegError) -> None:
        self.errors += 1
        self.first_error = self.first_error or _reason(exc)

    def _take(self, frame: av.AudioFrame) -> bool:
        """Hand one decoded frame to every consumer; False when it cannot be read like the
        ones before it (sample rate or layout changed mid-stream)."""
        if not self.rate:
            self._start(frame)
        elif frame.sample_rate != self.rate:
            return False
        try:
            if len(self.pcm) < FINGERPRINT_SECONDS * SAMPLE_RATE * 2:
                assert self._fp_rs is not None
                for out in self._fp_rs.resample(frame):
                    self.pcm += out.to_ndarray().tobytes()
            if self._speech_rs is not None and self.seconds < SPEECH_SECONDS:
                for out in self._speech_rs.resample(frame):
                    self._add_speech(out.to_ndarray().reshape(-1))
            if self.meter is not None:
                self.meter.feed(self._native(frame))
        except ValueError:
            return False
        self.samples += frame.samples
        return True

    def _start(self, frame: av.AudioFrame) -> None:
        self.rate = frame.sample_rate
        self._fp_rs = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        if self.query:
            return
        if self.speech:
            self._speech_rs = av.AudioResampler(format="flt", layout="mono", rate=SPEECH_RATE)
            expected = min(self.declared or SPEECH_SECONDS, SPEECH_SECONDS) + 1
            self._speech = np.zeros(int(expected * SPEECH_RATE), dtype=np.float32)
        names = [c.name for c in frame.layout.channels]
        self.meter = LoudnessMeter(self.rate, channel_weights(names))
        self._native_rs = self._native_resampler(frame)

    @staticmethod
    def _native_resampler(frame: av.AudioFrame) -> av.AudioResampler:
        return av.AudioResampler(format="flt", layout=frame.layout, rate=frame.sample_rate)

    def _native(self, frame: av.AudioFrame) -> np.ndarray:
        """The frame as packed float32 (samples, channels) at its own rate and layout."""
        assert self._native_rs is not None
        parts = [
            out.to_ndarray().reshape(-1, out.layout.nb_channels)
            for out in self._native_rs.resample(frame)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, frame.layout.nb_channels))

    def _add_speech(self, samples: np.ndarray) -> None:
        assert self._speech is not None
        room = SPEECH_SECONDS * SPEECH_RATE - self._speech_len
        samples = samples[:room]
        end = self._speech_len + len(samples)
        if end > len(self._speech):
            grown = np.zeros(min(2 * end, SPEECH_SECONDS * SPEECH_RATE), dtype=np.float32)
            grown[: self._speech_len] = self._speech[: self._speech_len]
            self._speech = grown
        self._speech[self._speech_len : end] = samples
        self._speech_len = end

    def _sample_rest(self) -> None:
        """Loudness and waveform past the first pass: `SAMPLED_WINDOWS` windows of
        `WINDOW_SECONDS`, each standing for its share of the rest of the file."""
        assert self.meter is not None
        start, end = self.seconds, self.declared or 0.0
        if end - start < 2 * WINDOW_SECONDS:
            return
        step = (end - start) / SAMPLED_WINDOWS
        for w in range(SAMPLED_WINDOWS):
            at = start + w * step + (step - WINDOW_SECONDS) / 2
            self.meter.gap()
            try:
                self.container.seek(int(at / self.stream.time_base), stream=self.stream)
            except av.FFmpegError:
                return
            self.sampled = True
            self._window(at, weight=step / WINDOW_SECONDS)

    def _window(self, at: float, *, weight: float) -> None:
        assert self.meter is not None
        resampler: av.AudioResampler | None = None
        fed = 0
        budget = 20 * WINDOW_SECONDS * self.rate  # a seek that lands far too early gives up
        for packet in self._packets([self.stream]):
            for frame in self._frames(packet):
                budget -= frame.samples
                when = float(frame.time) if frame.time is not None else at
                if when + frame.samples / max(1, frame.sample_rate) <= at:
                    continue
                if frame.sample_rate != self.rate:
                    return
                resampler = resampler or self._native_resampler(frame)
                parts = [
                    out.to_ndarray().reshape(-1, out.layout.nb_channels)
                    for out in resampler.resample(frame)
                ]
                if parts:
                    self.meter.feed(np.concatenate(parts), at=when, weight=weight)
                fed += frame.samples
            if fed >= WINDOW_SECONDS * self.rate or budget <= 0:
                return

    # ------------------------------------------------------------------ results
    def speech_track(self) -> Audio | None:
        if self._speech is None or not self._speech_len:
            return None
        return Audio(self._speech[: self._speech_len].copy(), SPEECH_RATE)

    def duration(self) -> float:
        """The decoded length when the decode reached the end, else what the header says."""
        if self.complete or not self.declared:
            return self.seconds
        return max(self.declared, self.seconds)

    def metadata(self) -> dict[str, Any]:
        cc = self.stream.codec_context
        meta: dict[str, Any] = {
            "duration": round(self.duration(), 3),
            "codec": cc.codec.canonical_name,
            "sample_rate": self.rate or cc.sample_rate,
            "channels": cc.layout.nb_channels,
            "channel_layout": cc.layout.name,
            "bit_rate": self.stream.bit_rate or self.container.bit_rate or None,
            "cover_art": self.picture is not None,
        }
        tags = _tags(self.container, self.stream)
        if tags:
            meta["tags"] = tags
        if tags.get("title"):
            meta["title"] = tags["title"]
        if description := tags.get("comment") or tags.get("description"):
            meta["description"] = description
        keywords = list(dict.fromkeys(tags[k] for k in _KEYWORD_TAGS if tags.get(k)))
        if keywords:
            meta["keywords"] = keywords
        if created := _tag(self.container.metadata, "creation_time"):
            meta["creation_time"] = created
        if (
            self.complete
            and self.declared
            and self.declared - self.seconds > max(1.0, 0.05 * self.declared)
        ):
            meta["truncated"] = True
            meta["declared_duration"] = round(self.declared, 3)
        if self.errors:
            meta["damaged"] = True
        if not self.query:
            loudness = self.meter.integrated() if self.meter is not None else None
            meta["loudness_lufs"] = None if loudness is None else round(loudness, 1)
            if self.sampled:
                meta["loudness_sampled"] = True
            if self.speech and not self.complete and self.seconds >= SPEECH_SECONDS:
                meta["transcript_covers_s"] = float(SPEECH_SECONDS)
        return meta


def _declared_duration(container: av.container.InputContainer, stream: Any) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _tags(container: av.container.InputContainer, stream: Any) -> dict[str, str]:
    """Title, artist, album... from the container (ID3, MP4, FLAC) or the stream (Ogg's
    Vorbis comments), keys lower-cased."""
    out: dict[str, str] = {}
    for source in (stream.metadata, container.metadata):
        for key in _TAGS:
            if key not in out and (value := _tag(source, key)):
                out[key] = value
    return out


def _tag(source: dict[str, str], key: str) -> str | None:
    for k, v in source.items():
        if k.lower() == key and str(v).strip():
            return str(v).strip()[:_TAG_CHARS]
    return None


def _reason(exc: av.FFmpegError) -> str:
    return str(getattr(exc, "strerror", None) or exc).strip()


def _chromaprint(pcm: bytes, where: str) -> np.ndarray:
    """Raw Chromaprint words of 11,025 Hz mono s16 PCM, through `fpcalc` (exit status 3
    comes with a valid fingerprint: it reports the end of its input as a decode error)."""
    if len(pcm) < MIN_FINGERPRINT_SECONDS * SAMPLE_RATE * 2:
        return np.zeros(0, dtype=np.uint32)
    fpcalc = shutil.which("fpcalc")
    if fpcalc is None:
        raise UnsupportedMediaError(
            f"{where}: audio needs Chromaprint's fpcalc to be fingerprinted",
            hint="install libchromaprint-tools (Debian, Ubuntu) or chromaprint",
        )
    command = [fpcalc, "-raw", "-json", "-format", "s16le", "-rate", str(SAMPLE_RATE)]
    command += ["-channels", "1", "-length", str(FINGERPRINT_SECONDS), "-"]
    try:
        done = subprocess.run(command, input=pcm, capture_output=True, timeout=120, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BadInputError(f"{where}: fingerprinting the audio took over 120 s") from exc
    try:
        values = json.loads(done.stdout)["fingerprint"]
    except (ValueError, KeyError, TypeError):
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise BadInputError(
            f"{where}: fpcalc could not fingerprint the audio "
            f"({message[-1] if message else f'exit status {done.returncode}'})"
        ) from None
    return np.asarray(values, dtype=np.uint32)


def _thumbnail(track: _Decode, opts: Options) -> bytes:
    """The embedded cover art when it is a readable picture, else a waveform."""
    if track.cover:
        Image.MAX_IMAGE_PIXELS = opts.max_image_pixels
        with suppress(OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError):
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(track.cover)) as im:
                    im.draft("RGB", (opts.thumbnail_size, opts.thumbnail_size))
                    thumb = make_thumbnail(im, opts.thumbnail_size)
            track.cover_used = True
            return thumb
    return make_thumbnail(waveform(track, opts.thumbnail_size), opts.thumbnail_size)


def waveform(track: _Decode, size: int) -> Image.Image:
    """Peak envelope over the whole duration, `size` columns, scaled to the loudest peak;
    columns between sampled windows take their neighbours' peaks."""
    width, height = size, max(2, size // 2)
    image = Image.new("RGB", (width, height), _WAVE_BACK)
    draw = ImageDraw.Draw(image)
    envelope = track.meter.envelope if track.meter is not None else []
    duration = track.duration()
    mid = height / 2
    if not envelope or duration <= 0:
        draw.line([(0, mid), (width, mid)], fill=_WAVE_PEAK)
        return image
    times = np.array([t for t, _ in envelope])
    peaks = np.array([p for _, p in envelope])
    columns = np.clip((times / duration * width).astype(int), 0, width - 1)
    column_peak = np.full(width, -1.0)
    np.maximum.at(column_peak, columns, peaks)
    filled = np.flatnonzero(column_peak >= 0)
    column_peak = np.interp(np.arange(width), filled, column_peak[filled])
    top = float(column_peak.max())
    scale = (mid - 1) / top if top > 0 else 0.0
    for x, peak in enumerate(column_peak):
        half = max(0.5, peak * scale)
        draw.line([(x, mid - half), (x, mid + half)], fill=_WAVE_PEAK)
    return image


register(AudioExtractor())
