"""`text=openai:URL` against a real HTTP server on 127.0.0.1 that answers chat completions as a
test chooses: good copy in Chinese and English, fenced JSON, prose, garbage, the wrong
language, an HTTP error, or no answer at all."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from assetloom.app.library import Library
from assetloom.app.studio import Request, Studio
from assetloom.create.errors import GenerationError
from assetloom.create.generators import get_generator
from assetloom.create.generators.base import TextGenerator
from assetloom.create.generators.text_openai import OpenAITextGenerator

BRIEF_EN = "subject: Trail bottle\naudience: hikers\nbenefits: keeps drinks cold for 24 hours"
BRIEF_ZH = "为一款新型环保水瓶创作社交媒体内容"
COPY_EN = {
    "headline": "Trail bottle: cold for 24 hours",
    "body": "Made for hikers who want a cold drink at the summit.",
    "hashtags": ["#hiking", "outdoor gear", "#Hiking"],
}
COPY_ZH = {
    "headline": "新型环保水瓶，陪你走更远",
    "body": "一整天保冷保热，轻便耐用，为地球减少一次性塑料。",
    "hashtags": ["#环保#", "#水瓶"],
}

Reply = tuple[int, str, bytes]


def chat(content: str) -> Reply:
    """A chat completion whose message is `content`."""
    doc = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }
    return 200, "application/json", json.dumps(doc, ensure_ascii=False).encode()


class Server:
    """A real HTTP server on 127.0.0.1; it records each request's path, headers and body."""

    def __init__(self, reply: Callable[[dict[str, Any]], Reply | None]) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((self.path, dict(self.headers), body))
                answer = reply(body)
                if answer is None:  # never answers
                    server.release.wait(10)
                    return
                status, kind, data = answer
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
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[dict[str, Any]], Reply | None]], Server]]:
    servers: list[Server] = []

    def start(reply: Callable[[dict[str, Any]], Reply | None]) -> Server:
        servers.append(Server(reply))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


Serve = Callable[[Callable[[dict[str, Any]], Reply | None]], Server]


def test_english_copy_from_a_json_reply(serve: Serve) -> None:
    server = serve(lambda _body: chat(json.dumps(COPY_EN)))
    argument = f"{server.url}/v1?model=gemma3:270m&temperature=0.3"
    generator = get_generator(f"text=openai:{argument}")
    assert isinstance(generator, TextGenerator)
    out = generator.generate(BRIEF_EN, language="en", seed=11, parents=[("b1", "brief")])
    assert out.media_type == "text/plain; charset=utf-8"
    assert out.data.decode() == (
        "Trail bottle: cold for 24 hours\n\n"
        "Made for hikers who want a cold drink at the summit.\n\n"
        "#Hiking #OutdoorGear\n"
    )
    ((path, _headers, body),) = server.requests
    assert path == "/v1/chat/completions"
    assert body["model"] == "gemma3:270m" and body["seed"] == 11 and body["temperature"] == 0.3
    system, user = body["messages"]
    assert system["role"] == "system" and "English" in system["content"]
    assert '"headline"' in system["content"] and user == {"role": "user", "content": BRIEF_EN}
    recipe = out.recipe
    assert (recipe.kind, recipe.backend, recipe.model) == ("text", "openai", argument)
    assert (recipe.prompt, recipe.seed, recipe.parents) == (BRIEF_EN, 11, (("b1", "brief"),))
    assert recipe.parameters == {
        "language": "en",
        "model": "gemma3:270m",
        "temperature": 0.3,
        "endpoint": f"{server.url}/v1/chat/completions",
    }


def test_chinese_copy_in_a_fenced_reply_with_a_key(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    fenced = "好的，这是文案：\n```json\n" + json.dumps(COPY_ZH, ensure_ascii=False) + "\n```"
    server = serve(lambda _body: chat(fenced))
    monkeypatch.setenv("STUDIO_CHAT_KEY", "sk-local-1")
    argument = f"{server.url}/v1/chat/completions?key_env=STUDIO_CHAT_KEY"
    out = get_generator(f"text=openai:{argument}").generate(BRIEF_ZH, language="zh", seed=3)
    assert out.data.decode() == (
        "新型环保水瓶，陪你走更远\n\n"
        "一整天保冷保热，轻便耐用，为地球减少一次性塑料。\n\n"
        "#环保# #水瓶#\n"
    )
    ((path, headers, body),) = server.requests
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sk-local-1"
    assert body["model"] == "default" and body["temperature"] == 0.7
    assert "Chinese" in body["messages"][0]["content"]
    assert "sk-local-1" not in out.recipe.to_json()
    assert out.recipe.parameters["endpoint"] == f"{server.url}/v1/chat/completions"


def test_a_reply_in_lines_is_read_and_tidied(serve: Serve) -> None:
    prose = (
        "**Headline:** Trail bottle, made for hikers\n\n"
        "Cold drinks for 24 hours.\nCold drinks for 24 hours.\n"
        "Light enough for any trail.\n\n#Hiking #Outdoor"
    )
    server = serve(lambda _body: chat(prose))
    out = get_generator(f"text=openai:{server.url}").generate(BRIEF_EN, seed=1)
    assert out.data.decode() == (
        "Trail bottle, made for hikers\n\n"
        "Cold drinks for 24 hours.\nLight enough for any trail.\n\n#Hiking #Outdoor\n"
    )
    assert server.requests[0][0] == "/v1/chat/completions"


@pytest.mark.parametrize(
    ("reply", "language", "message"),
    [
        (chat(json.dumps(COPY_EN)), "zh", "the model answered in English; zh was asked"),
        (
            chat(json.dumps(COPY_ZH, ensure_ascii=False)),
            "en",
            "the model answered in Chinese; en was asked",
        ),
        (chat(json.dumps({**COPY_EN, "headline": ""})), "en", "the model gave no headline"),
        (chat(json.dumps({**COPY_EN, "body": " "})), "en", "the model gave no body"),
        (
            chat(json.dumps({**COPY_ZH, "headline": "环保水瓶" * 10})),
            "zh",
            "headline is 40 characters; at most 30 for zh",
        ),
        (chat("   "), "en", "answered nothing"),
        (chat("Sorry, I cannot help with that."), "en", "the model gave no body"),
        (
            (200, "text/html", b"<html>Welcome to nginx</html>"),
            "en",
            "is not a chat completion.*Welcome to nginx",
        ),
        (
            (200, "application/json", b'{"choices": []}'),
            "en",
            "is not a chat completion",
        ),
        (
            (500, "application/json", b'{"error": "model not loaded"}'),
            "en",
            "answered HTTP 500.*model not loaded",
        ),
    ],
)
def test_bad_replies_are_clear_errors(
    serve: Serve, reply: Reply, language: str, message: str
) -> None:
    server = serve(lambda _body: reply)
    with pytest.raises(GenerationError, match=message):
        get_generator(f"text=openai:{server.url}/v1").generate("brief", language=language)


def test_an_unreachable_or_silent_server_is_a_bounded_clear_error(serve: Serve) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(GenerationError, match="cannot reach") as err:
        get_generator(f"text=openai:http://127.0.0.1:{port}/v1").generate(BRIEF_EN)
    assert err.value.hint and "server running" in err.value.hint
    server = serve(lambda _body: None)
    with pytest.raises(GenerationError, match=r"did not answer within 0\.5 s"):
        get_generator(f"text=openai:{server.url}/v1?timeout=0.5").generate(BRIEF_EN)


def test_arguments_are_checked() -> None:
    with pytest.raises(GenerationError, match="not an http"):
        get_generator("text=openai:ftp://example/v1")
    with pytest.raises(GenerationError, match="chat API key cannot be an option") as err:
        get_generator("text=openai:http://127.0.0.1:8000/v1?api_key=sk-1")
    assert err.value.hint and "key_env" in err.value.hint
    with pytest.raises(GenerationError, match="holds credentials"):
        get_generator("text=openai:http://user:sk-1@127.0.0.1:8000/v1")
    with pytest.raises(GenerationError, match="unknown options voice"):
        get_generator("text=openai:http://127.0.0.1:8000/v1?voice=x")
    with pytest.raises(GenerationError, match="temperature='3' must be from 0 to 2"):
        get_generator("text=openai:http://127.0.0.1:8000/v1?temperature=3")
    with pytest.raises(GenerationError, match=r"NO_SUCH_VARIABLE .* unset or empty"):
        OpenAITextGenerator("https://api.example.com/v1?key_env=NO_SUCH_VARIABLE", environ={})
    with pytest.raises(GenerationError, match=r"clear text to llm\.example\.com"):
        OpenAITextGenerator("http://llm.example.com/v1?key_env=K", environ={"K": "sk-1"})
    with pytest.raises(GenerationError, match="writes zh or en, not 'de'"):
        OpenAITextGenerator("http://127.0.0.1:1").generate(BRIEF_EN, language="de")
    local = OpenAITextGenerator("http://localhost:8080?key_env=K", environ={"K": "sk-1"})
    assert local.endpoint == "http://localhost:8080/v1/chat/completions"
    assert (
        OpenAITextGenerator("http://h:1/api/v1/").endpoint == "http://h:1/api/v1/chat/completions"
    )


@pytest.fixture
def lib(tmp_path: Path, understanding: None) -> Iterator[Library]:
    with Library.create(tmp_path / "lib") as lib:
        lib.settings = lib.settings.model_copy(update={"workers": 1})
        yield lib


def test_the_studio_registers_the_models_copy(lib: Library, serve: Serve) -> None:
    server = serve(lambda _body: chat(json.dumps(COPY_ZH, ensure_ascii=False)))
    doc = Studio(lib).create(
        Request(BRIEF_ZH, outputs=["text"], backends=[f"text=openai:{server.url}/v1"], seed=5)
    )
    assert doc["state"] == "done"
    (copy,) = doc["outputs"]
    assert copy["kind"] == "text" and copy["recipe"]["backend"] == "openai"
    assert copy["recipe"]["parameters"]["language"] == "zh" and copy["recipe"]["seed"] == 5
    assert copy["quality"]["language_ok"] and copy["quality"]["headline_ok"]
    asset = lib.get(copy["asset_id"])
    assert asset.media_type.value == "text" and "新型环保水瓶" in asset.metadata["excerpt"]
    assert server.requests[0][2]["seed"] == 5


def test_the_studio_reports_a_bad_reply_against_the_copy(lib: Library, serve: Serve) -> None:
    server = serve(lambda _body: chat(json.dumps(COPY_EN)))
    doc = Studio(lib).create(
        Request(BRIEF_ZH, outputs=["text"], backends=[f"text=openai:{server.url}/v1"], seed=5)
    )
    assert doc["state"] == "failed"
    (copy,) = doc["outputs"]
    assert "the model answered in English; zh was asked" in copy["error"]
