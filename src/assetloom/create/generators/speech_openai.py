"""`speech=openai:URL`: voice-overs from an OpenAI-compatible `/v1/audio/speech` endpoint.

Any server that speaks that API will do (a local Kokoro, openedai-speech or LocalAI, say). The
URL is the API base (`http://127.0.0.1:8880/v1`) or the endpoint itself, with the model and the
default voice as query parameters: `openai:http://127.0.0.1:8880/v1?model=kokoro&voice=af_sky`
(defaults `tts-1` and `alloy`). No API key is sent: the backend is for servers on the user's own
network. Each sentence is one request, asking for WAV (MP3, Opus, AAC or FLAC replies are decoded
too), so that sentence times are exact; the track is then normalised like every other voice.

A server that cannot be reached, that does not answer in time, that answers with an HTTP error
or with something that is not audio is a GenerationError saying which. Whether the same seed
gives the same audio is up to the server; the seed is recorded, not sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from assetloom.create.errors import GenerationError
from assetloom.create.generators.audio import decode_audio, resample
from assetloom.create.generators.base import SPEECH
from assetloom.create.generators.http import preview, request
from assetloom.create.generators.registry import register
from assetloom.create.generators.speech_common import SentenceSpeaker

if TYPE_CHECKING:
    import httpx
    import numpy as np

DEFAULT_MODEL = "tts-1"
DEFAULT_VOICE = "alloy"
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 120.0
"""One sentence's synthesis: a CPU-only server may take tens of seconds."""
_NOT_AUDIO = ("text/", "application/json", "application/xml", "application/problem")


class OpenAISpeaker(SentenceSpeaker):
    backend = "openai"

    def __init__(self, url: str, *, read_timeout_s: float = READ_TIMEOUT_S) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise GenerationError(
                f"speech endpoint {url!r} is not an http(s) URL",
                hint="write speech=openai:http://HOST:PORT/v1",
            )
        query = dict(parse_qsl(parts.query))
        unknown = sorted(query.keys() - {"model", "voice"})
        if unknown:
            raise GenerationError(
                f"speech endpoint {url!r} has unknown parameters {', '.join(unknown)}",
                hint="only ?model=NAME&voice=NAME are read",
            )
        path = parts.path.rstrip("/")
        if not path.endswith("/audio/speech"):
            path += "/audio/speech" if path.endswith("/v1") else "/v1/audio/speech"
        self.endpoint = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self.model = url.strip()
        self.remote_model = query.get("model", DEFAULT_MODEL)
        self.default_voice = query.get("voice", DEFAULT_VOICE)
        self.read_timeout_s = read_timeout_s

    def _voice(self, voice: str, language: str) -> tuple[str, str, str]:
        return voice.strip() or self.default_voice, language.strip() or "en", self.model

    def _synthesise(
        self, texts: list[str], *, voice: str, language: str, seed: int, speed: float
    ) -> tuple[list[np.ndarray], int]:
        import httpx

        timeout = httpx.Timeout(self.read_timeout_s, connect=CONNECT_TIMEOUT_S)
        clips: list[np.ndarray] = []
        rate = 0
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            for text in texts:
                samples, clip_rate = self._one(client, text, voice, speed)
                mono = samples.mean(axis=1)
                # Servers answer at one rate; should one change it, the track follows the first.
                clips.append(resample(mono, clip_rate, rate) if rate else mono)
                rate = rate or clip_rate
        return clips, rate

    def _one(
        self, client: httpx.Client, text: str, voice: str, speed: float
    ) -> tuple[np.ndarray, int]:

        body = {
            "model": self.remote_model,
            "input": text,
            "voice": voice,
            "response_format": "wav",
            "speed": speed,
        }
        where = f"the speech endpoint {self.endpoint}"
        reply = request(
            client,
            "POST",
            self.endpoint,
            where=where,
            timeout_s=self.read_timeout_s,
            slow_hint="the server may be overloaded; try a shorter script or a faster model",
            json=body,
        )
        kind = reply.headers.get("content-type", "").split(";")[0].strip().lower()
        if reply.status_code != 200:
            raise GenerationError(
                f"{where} answered HTTP {reply.status_code}: {preview(reply.content)}",
                hint="check the model and voice names in the URL",
            )
        if kind.startswith(_NOT_AUDIO):
            raise GenerationError(f"{where} answered {kind}, not audio: {preview(reply.content)}")
        return decode_audio(reply.content, what=f"reply of {where}")


@register(SPEECH, "openai", argument="URL")
def _openai(url: str) -> OpenAISpeaker:
    return OpenAISpeaker(url)
