"""`image=comfyui:URL` and `image=openai:URL` against real HTTP servers on 127.0.0.1.

Each server here speaks the API as its documentation describes it (ComfyUI: /object_info,
/upload/image, /prompt, /history/{id}, /view; OpenAI: /v1/images/generations and
/v1/images/edits) and draws a picture from the request: a PNG of the size asked whose pixels
come from the seed (ComfyUI) or the prompt (OpenAI), so the tests can see what was sent. Other
servers answer garbage, HTTP errors, or nothing at all.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import io
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image

from assetloom.create.errors import GenerationError
from assetloom.create.generators import get_generator
from assetloom.create.generators.image_comfyui import ComfyUIImageGenerator
from assetloom.create.generators.image_openai import OpenAIImageGenerator
from assetloom.create.plan import NEGATIVE
from assetloom.errors import BadInputError

PNG = b"\x89PNG\r\n\x1a\n"


def _drawn(size: tuple[int, int], seed: int) -> bytes:
    """A picture of `size` that only `seed` makes: a gradient between two colours it draws."""
    top, bottom = np.random.default_rng(seed).integers(0, 256, (2, 3))
    ramp = np.linspace(0, 1, size[1])[:, None, None]
    rows = ((1 - ramp) * top + ramp * bottom).astype(np.uint8)
    pixels = np.broadcast_to(rows, (size[1], size[0], 3))
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def _source_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def _size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG)
    return Image.open(io.BytesIO(data)).size


@dataclass
class Reply:
    status: int = 200
    kind: str = "application/json"
    body: bytes = b""
    hang: bool = False


def json_reply(data: object, status: int = 200) -> Reply:
    return Reply(status, "application/json", json.dumps(data).encode())


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, bytes]:
        """A multipart/form-data body's fields, parsed by the standard library."""
        head = f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(head + self.body)
        return {
            part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in message.iter_parts()
        }


@dataclass
class Server:
    """A real HTTP server on 127.0.0.1 answering with `route`; it records every request."""

    route: Callable[[Request], Reply]
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                server.requests.append(request)
                reply = server.route(request)
                if reply.hang:
                    server.release.wait(10)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.kind)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Request], Reply]], Server]]:
    servers: list[Server] = []

    def start(route: Callable[[Request], Reply]) -> Server:
        servers.append(Server(route))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _free_port() -> int:
    with socket.socket() as probe:  # free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------------- ComfyUI
class FakeComfy:
    """ComfyUI's workflow API: the queued graph is checked and "run" on the second poll."""

    def __init__(self, checkpoints: list[str], *, new_listing: bool = False) -> None:
        self.checkpoints = checkpoints
        self.new_listing = new_listing
        self.jobs: dict[str, dict[str, Any]] = {}
        self.polls: dict[str, int] = {}
        self.uploads: dict[str, bytes] = {}
        self.files: dict[str, bytes] = {}
        self.fail: str = ""
        self.never_done = False

    def __call__(self, req: Request) -> Reply:
        if req.path == "/object_info/CheckpointLoaderSimple":
            names: Any = [self.checkpoints]
            if self.new_listing:
                names = ["COMBO", {"options": self.checkpoints}]
            spec = {"input": {"required": {"ckpt_name": names}}}
            return json_reply({"CheckpointLoaderSimple": spec})
        if req.path == "/upload/image" and req.method == "POST":
            form = req.form()
            name = f"up{len(self.uploads)}.png"
            self.uploads[name] = form["image"]
            return json_reply({"name": name, "subfolder": "", "type": "input"})
        if req.path == "/prompt" and req.method == "POST":
            graph = req.json()["prompt"]
            errors = self._check(graph)
            if errors:
                return json_reply(
                    {"error": {"message": "invalid prompt"}, "node_errors": errors}, 400
                )
            prompt_id = f"job{len(self.jobs)}"
            self.jobs[prompt_id] = graph
            return json_reply({"prompt_id": prompt_id, "number": len(self.jobs), "node_errors": {}})
        if req.path.startswith("/history/"):
            prompt_id = req.path.removeprefix("/history/")
            self.polls[prompt_id] = self.polls.get(prompt_id, 0) + 1
            if prompt_id not in self.jobs or self.polls[prompt_id] < 2 or self.never_done:
                return json_reply({})  # queued, or running
            return json_reply({prompt_id: self._run(prompt_id)})
        if req.path == "/view":
            data = self.files.get(req.query["filename"][0])
            return Reply(200, "image/png", data) if data else Reply(404, "text/plain", b"no file")
        return Reply(404, "text/plain", b"not found")

    def _check(self, graph: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        for node_id, node in graph.items():
            for value in node["inputs"].values():
                if isinstance(value, list) and value[0] not in graph:
                    errors[node_id] = f"links to missing node {value[0]}"
        if graph["4"]["inputs"]["ckpt_name"] not in self.checkpoints:
            errors["4"] = "ckpt_name not in list"
        load = [n for n in graph.values() if n["class_type"] == "LoadImage"]
        if load and load[0]["inputs"]["image"] not in self.uploads:
            errors["10"] = "image not uploaded"
        return errors

    def _run(self, prompt_id: str) -> dict[str, Any]:
        if self.fail:
            error = {"node_type": "KSampler", "exception_message": self.fail}
            status = {
                "status_str": "error",
                "completed": False,
                "messages": [["execution_start", {}], ["execution_error", error]],
            }
            return {"outputs": {}, "status": status}
        graph = self.jobs[prompt_id]
        latent = graph["5"]
        if latent["class_type"] == "EmptyLatentImage":
            size = (latent["inputs"]["width"], latent["inputs"]["height"])
        else:
            scale = graph[latent["inputs"]["pixels"][0]]["inputs"]
            size = (scale["width"], scale["height"])
        name = f"assetloom_{prompt_id}.png"
        self.files[name] = _drawn(size, graph["3"]["inputs"]["seed"])
        image = {"filename": name, "subfolder": "", "type": "output"}
        return {
            "outputs": {"9": {"images": [image]}},
            "status": {"status_str": "success", "completed": True, "messages": []},
        }


def test_comfyui_queues_the_graph_polls_and_fetches_the_picture(
    serve: Callable[..., Server],
) -> None:
    comfy = FakeComfy(["dreamshaper_8.safetensors", "other.ckpt"])
    server = serve(comfy)
    generator = get_generator(f"image=comfyui:{server.url}?side=256&steps=12", "image")
    out = generator.generate("a red shoe", width=270, height=480, seed=42, overlay="Run")
    assert _size(out.data) == (270, 480)
    graph = comfy.jobs["job0"]
    sampler = graph["3"]["inputs"]
    assert (sampler["seed"], sampler["steps"], sampler["denoise"]) == (42, 12, 1.0)
    assert graph["6"]["inputs"]["text"] == "a red shoe"
    assert graph["7"]["inputs"]["text"] == NEGATIVE
    latent = graph["5"]["inputs"]
    assert (latent["width"], latent["height"]) == (192, 344)  # ~256x256 pixels at 9:16, /8
    params = out.recipe.parameters
    assert params["checkpoint"] == "dreamshaper_8.safetensors"  # the server's first
    assert params["generated"] == [192, 344] and params["mode"] == "txt2img"
    assert params["text_contrast"] >= 4.5 and out.recipe.model == server.url
    paths = [r.path for r in server.requests]
    assert paths[0] == "/object_info/CheckpointLoaderSimple" and paths[1] == "/prompt"
    assert paths.count("/history/job0") == 2 and paths[-1] == "/view"
    # The same recipe asks for the same picture; another seed for another.
    again = generator.generate("a red shoe", width=270, height=480, seed=42, overlay="Run")
    other = generator.generate("a red shoe", width=270, height=480, seed=43, overlay="Run")
    assert again.data == out.data and other.data != out.data


def test_comfyui_uploads_a_source_for_image_to_image(serve: Callable[..., Server]) -> None:
    comfy = FakeComfy(["sd15.safetensors"], new_listing=True)
    server = serve(comfy)
    generator = get_generator(f"image=comfyui:{server.url}?side=128&denoise=0.45")
    out = generator.generate(
        "the bottle in a rainforest",
        width=128,
        height=128,
        seed=1,
        references={"source": _source_png(), "style": _source_png()},
    )
    assert _size(out.data) == (128, 128)
    assert Image.open(io.BytesIO(comfy.uploads["up0.png"])).size == (80, 60)
    graph = comfy.jobs["job0"]
    assert graph["10"] == {"class_type": "LoadImage", "inputs": {"image": "up0.png"}}
    assert graph["5"]["class_type"] == "VAEEncode" and graph["3"]["inputs"]["denoise"] == 0.45
    params = out.recipe.parameters
    assert params["mode"] == "img2img" and params["roles"] == ["source"]
    assert "IP-Adapter" in params["unused_roles"]["style"]


def test_comfyui_failures_are_clear_errors(serve: Callable[..., Server]) -> None:
    comfy = FakeComfy(["sd15.safetensors"])
    server = serve(comfy)
    with pytest.raises(GenerationError, match=r"/prompt with HTTP 400.*ckpt_name not in list"):
        get_generator(f"image=comfyui:{server.url}?checkpoint=nope.safetensors").generate(
            "x", width=64, height=64
        )
    comfy.fail = "CUDA out of memory"
    with pytest.raises(GenerationError, match="failed the job: KSampler: CUDA out of memory"):
        get_generator(f"image=comfyui:{server.url}").generate("x", width=64, height=64)
    comfy.fail, comfy.never_done = "", True
    with pytest.raises(GenerationError, match=r"did not finish the job within 0\.3 s"):
        get_generator(f"image=comfyui:{server.url}?timeout=0.3").generate("x", width=64, height=64)
    with pytest.raises(GenerationError, match="has no checkpoint"):
        get_generator(f"image=comfyui:{serve(FakeComfy([])).url}").generate(
            "x", width=64, height=64
        )


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, "text/html", b"<html>router login</html>"), "not its API's JSON.*router login"),
        (json_reply({"queued": True}), "queued no prompt_id"),
        (Reply(502, "text/plain", b"bad gateway"), "HTTP 502.*bad gateway"),
    ],
)
def test_comfyui_garbage_is_a_clear_error(
    serve: Callable[..., Server], reply: Reply, message: str
) -> None:
    server = serve(lambda req: reply)
    generator = get_generator(f"image=comfyui:{server.url}?checkpoint=a.safetensors")
    with pytest.raises(GenerationError, match=message):
        generator.generate("x", width=64, height=64)


def test_comfyui_that_saves_no_image_is_a_clear_error(serve: Callable[..., Server]) -> None:
    comfy = FakeComfy(["a.safetensors"])

    def route(req: Request) -> Reply:
        if req.path == "/view":
            return Reply(200, "image/png", b"<!doctype html> not a picture")
        return comfy(req)

    server = serve(route)
    with pytest.raises(GenerationError, match=r"saved is not an image.*not a picture"):
        get_generator(f"image=comfyui:{server.url}").generate("x", width=64, height=64)


def test_comfyui_unreachable_or_silent_is_a_clear_error(serve: Callable[..., Server]) -> None:
    with pytest.raises(GenerationError, match="cannot reach ComfyUI") as err:
        get_generator(f"image=comfyui:http://127.0.0.1:{_free_port()}").generate(
            "x", width=64, height=64
        )
    assert err.value.hint and "running" in err.value.hint
    silent = serve(lambda req: Reply(hang=True))
    generator = ComfyUIImageGenerator(f"{silent.url}?checkpoint=a.ckpt", read_timeout_s=0.5)
    with pytest.raises(GenerationError, match=r"did not answer /prompt within 0\.5 s"):
        generator.generate("x", width=64, height=64)


def test_comfyui_arguments_are_checked() -> None:
    with pytest.raises(GenerationError, match="not an http"):
        get_generator("image=comfyui:ftp://host:8188")
    with pytest.raises(GenerationError, match="holds credentials"):
        get_generator("image=comfyui:http://me:secret@127.0.0.1:8188")
    with pytest.raises(GenerationError, match="unknown options ckpt"):
        get_generator("image=comfyui:http://127.0.0.1:8188?ckpt=x")
    with pytest.raises(GenerationError, match="cfg='-1' must be from 0 to 50"):
        get_generator("image=comfyui:http://127.0.0.1:8188?cfg=-1")


# ---------------------------------------------------------------------- OpenAI-compatible
def openai_images(*, edits: bool = True, url_replies: bool = False) -> Callable[[Request], Reply]:
    """/v1/images/generations and (optionally) /v1/images/edits, answering b64_json or a url."""
    files: dict[str, bytes] = {}

    def route(req: Request) -> Reply:
        if req.path.startswith("/files/"):
            return Reply(200, "image/png", files[req.path])
        if req.path == "/v1/images/generations":
            fields = req.json()
        elif req.path == "/v1/images/edits" and edits:
            form = req.form()
            assert Image.open(io.BytesIO(form.pop("image"))).format == "PNG"
            fields = {k: v.decode() for k, v in form.items()}
        else:
            return json_reply({"error": {"message": "Not Found"}}, 404)
        width, height = (int(v) for v in fields["size"].split("x"))
        seed = int.from_bytes(hashlib.sha256(fields["prompt"].encode()).digest()[:4], "big")
        png = _drawn((width, height), seed)
        if url_replies:
            files[f"/files/{seed}.png"] = png
            return json_reply({"data": [{"url": f"http://{req.headers['host']}/files/{seed}.png"}]})
        return json_reply({"created": 1, "data": [{"b64_json": base64.b64encode(png).decode()}]})

    return route


def test_openai_generates_at_the_nearest_size_and_fits_the_format(
    serve: Callable[..., Server],
) -> None:
    server = serve(openai_images())
    generator = get_generator(f"image=openai:{server.url}/v1", "image")
    out = generator.generate("a red shoe", width=1080, height=1920, seed=5)
    assert _size(out.data) == (1080, 1920)
    (request,) = server.requests
    assert request.path == "/v1/images/generations" and "authorization" not in request.headers
    body = request.json()
    assert body == {"model": "gpt-image-1", "prompt": "a red shoe", "n": 1, "size": "1024x1536"}
    params = out.recipe.parameters
    assert params["generated"] == [1024, 1536] and params["mode"] == "generate"
    assert params["seed_sent"] is False and out.recipe.seed == 5


def test_openai_exact_sizes_models_and_the_key_from_the_environment(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(openai_images())
    monkeypatch.setenv("STUDIO_IMAGES_KEY", "sk-local-test")
    generator = get_generator(
        f"image=openai:{server.url}/v1?model=sd-turbo&size=exact&key_env=STUDIO_IMAGES_KEY"
    )
    out = generator.generate("a red shoe", width=160, height=96)
    (request,) = server.requests
    assert request.headers["authorization"] == "Bearer sk-local-test"
    assert request.json()["size"] == "160x96" and request.json()["model"] == "sd-turbo"
    assert request.json()["response_format"] == "b64_json"  # asked of all but gpt-image models
    assert _size(out.data) == (160, 96)
    assert "sk-local-test" not in out.recipe.to_json()  # the recipe names the variable only
    assert out.recipe.model == f"{server.url}/v1"


def test_openai_follows_a_url_reply(serve: Callable[..., Server]) -> None:
    server = serve(openai_images(url_replies=True))
    out = get_generator(f"image=openai:{server.url}/v1?size=256x256").generate(
        "a shoe", width=128, height=128
    )
    assert _size(out.data) == (128, 128)
    assert [r.path for r in server.requests][-1].startswith("/files/")


def test_openai_sends_a_source_to_the_edits_endpoint(serve: Callable[..., Server]) -> None:
    server = serve(openai_images())
    out = get_generator(f"image=openai:{server.url}/v1/images/generations").generate(
        "the bottle on a beach",
        width=256,
        height=256,
        references={"source": _source_png(), "subject": _source_png()},
    )
    (request,) = server.requests
    assert request.path == "/v1/images/edits"
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert out.recipe.parameters["mode"] == "edit" and out.recipe.parameters["roles"] == ["source"]
    assert "subject" in out.recipe.parameters["unused_roles"]
    no_edits = serve(openai_images(edits=False))
    with pytest.raises(GenerationError, match="cannot re-purpose a picture"):
        get_generator(f"image=openai:{no_edits.url}").generate(
            "x", width=64, height=64, references={"source": _source_png()}
        )


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, "text/html", b"<html>portal</html>"), "not the images API's JSON.*portal"),
        (json_reply({"data": []}), "not the images API's JSON"),
        (json_reply({"data": [{"b64_json": "@@not base64@@"}]}), "not base64"),
        (
            json_reply({"data": [{"b64_json": base64.b64encode(b"GIF? no").decode()}]}),
            "is not an image",
        ),
        (json_reply({"data": [{"revised_prompt": "x"}]}), "neither b64_json nor url"),
        (json_reply({"error": {"message": "model not loaded"}}, 500), "HTTP 500.*model not loaded"),
        (json_reply({"error": {"message": "bad key"}}, 401), "HTTP 401"),
    ],
)
def test_openai_garbage_is_a_clear_error(
    serve: Callable[..., Server], reply: Reply, message: str
) -> None:
    server = serve(lambda req: reply)
    with pytest.raises(GenerationError, match=message):
        get_generator(f"image=openai:{server.url}/v1").generate("x", width=64, height=64)


def test_openai_unreachable_or_silent_is_a_clear_error(serve: Callable[..., Server]) -> None:
    with pytest.raises(GenerationError, match="cannot reach the images endpoint"):
        get_generator(f"image=openai:http://127.0.0.1:{_free_port()}/v1").generate(
            "x", width=64, height=64
        )
    silent = serve(lambda req: Reply(hang=True))
    with pytest.raises(GenerationError, match=r"did not answer within 0\.5 s"):
        get_generator(f"image=openai:{silent.url}/v1?timeout=0.5").generate(
            "x", width=64, height=64
        )


def test_openai_keys_stay_out_of_arguments_and_clear_text() -> None:
    with pytest.raises(GenerationError, match="key cannot be an option") as err:
        get_generator("image=openai:https://api.example.com/v1?api_key=sk-123")
    assert err.value.hint and "key_env" in err.value.hint
    with pytest.raises(GenerationError, match="holds credentials"):
        get_generator("image=openai:https://user:sk-123@api.example.com/v1")
    with pytest.raises(GenerationError, match=r"NO_SUCH_VARIABLE .* unset or empty"):
        OpenAIImageGenerator("https://api.example.com/v1?key_env=NO_SUCH_VARIABLE", environ={})
    with pytest.raises(GenerationError, match=r"clear text to images\.example\.com"):
        OpenAIImageGenerator("http://images.example.com/v1?key_env=K", environ={"K": "sk-1"})
    local = OpenAIImageGenerator("http://localhost:8080?key_env=K", environ={"K": "sk-1"})
    assert local.generations == "http://localhost:8080/v1/images/generations"
    with pytest.raises(GenerationError, match="size='big'"):
        get_generator("image=openai:http://127.0.0.1:8080/v1?size=big")
    with pytest.raises(BadInputError, match="several kinds"):
        get_generator("openai:http://127.0.0.1:8080/v1")  # speech has one too: say image=
