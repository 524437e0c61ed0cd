"""`image=comfyui:URL`: pictures from a ComfyUI server through its workflow API.

The backend builds ComfyUI's standard graph from the prompt, size and seed (checkpoint loader,
two CLIP text encodings, an empty latent, KSampler, VAE decode, SaveImage), queues it with
`POST /prompt`, polls `GET /history/{prompt_id}` until the job is done, and fetches the saved
picture with `GET /view`. A "source" reference is uploaded (`POST /upload/image`) and becomes
the start of an image-to-image graph (LoadImage, VAEEncode, KSampler at `denoise`).

Options follow a `?`: `comfyui:http://127.0.0.1:8188?checkpoint=sd_xl_base_1.0.safetensors&
steps=30`. Without `checkpoint` the first one the server lists (`GET /object_info`) is used,
and the recipe names it. The seed goes into KSampler, so the same recipe asks the same server
for the same picture.

A server that cannot be reached, that answers late, with an HTTP error, with something that is
not the API's JSON or not an image, or whose job fails or does not finish within `timeout`
seconds is a GenerationError saying which.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from assetloom.create.errors import GenerationError
from assetloom.create.generators.base import IMAGE, Generated, Parent, Recipe, resolve_seed
from assetloom.create.generators.http import preview, request
from assetloom.create.generators.image_common import (
    check_size,
    decode_references,
    finish,
    generation_size,
    number,
    read_image,
    split_options,
    unused_roles,
)
from assetloom.create.generators.registry import register
from assetloom.create.plan import NEGATIVE

if TYPE_CHECKING:
    import httpx
    from PIL import Image

OPTIONS = {
    "checkpoint": "the ckpt_name to load, default the server's first",
    "steps": "KSampler steps, default 20",
    "cfg": "KSampler cfg, default 7",
    "sampler": "KSampler sampler_name, default euler",
    "scheduler": "KSampler scheduler, default normal",
    "denoise": "image to image denoise for a source, default 0.6",
    "side": "pixels per side to draw at before fitting, default 1024",
    "timeout": "seconds a job may take, default 600",
}
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
"""One API call; the job itself runs under the `timeout` option."""
SAVE_NODE = "9"
_POLL_S = (0.05, 1.0)
"""First and longest wait between two polls of the history."""


class ComfyUIImageGenerator:
    backend = "comfyui"

    def __init__(self, argument: str, *, read_timeout_s: float = READ_TIMEOUT_S) -> None:
        url, options = split_options(argument, OPTIONS, f"image=comfyui:{argument}")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise GenerationError(
                f"ComfyUI address {url!r} is not an http(s) URL",
                hint="write image=comfyui:http://HOST:8188",
            )
        if parts.username or parts.password:
            raise GenerationError(
                "the ComfyUI URL holds credentials, which recipes would record",
                hint="serve ComfyUI on a trusted address without them",
            )
        self.base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self.model = self.base
        self.checkpoint = options.get("checkpoint", "")
        self.steps = int(number(options, "steps", 20, 1, 500))
        self.cfg = number(options, "cfg", 7.0, 0, 50)
        self.sampler = options.get("sampler", "euler")
        self.scheduler = options.get("scheduler", "normal")
        self.denoise = number(options, "denoise", 0.6, 0.05, 1)
        self.side = int(number(options, "side", 1024, 64, 4096))
        self.timeout_s = number(options, "timeout", 600, 0.1, 86_400)
        self.read_timeout_s = read_timeout_s

    def generate(
        self,
        prompt: str,
        *,
        width: int = 1024,
        height: int = 1024,
        seed: int | None = None,
        parents: Sequence[Parent] = (),
        references: Mapping[str, bytes] | None = None,
        overlay: str = "",
        negative: str | None = None,
    ) -> Generated:
        """`negative`: what the picture must not show (None: the plan's standard list)."""
        import httpx

        seed = resolve_seed(seed)
        check_size(width, height, "comfyui")
        negative = NEGATIVE if negative is None else negative
        refs = decode_references(references)
        source = refs.get("source")
        size = generation_size(width, height, self.side, multiple=8)
        timeout = httpx.Timeout(self.read_timeout_s, connect=CONNECT_TIMEOUT_S)
        with httpx.Client(base_url=self.base, timeout=timeout, follow_redirects=False) as client:
            checkpoint = self.checkpoint or self._first_checkpoint(client)
            start = self._upload(client, source) if source is not None else None
            graph = workflow(
                prompt,
                negative,
                size,
                seed,
                checkpoint=checkpoint,
                steps=self.steps,
                cfg=self.cfg,
                sampler=self.sampler,
                scheduler=self.scheduler,
                start=start,
                denoise=self.denoise,
            )
            queued = self._json(
                client, "POST", "/prompt", json={"prompt": graph, "client_id": uuid.uuid4().hex}
            )
            prompt_id = queued.get("prompt_id")
            if not isinstance(prompt_id, str) or not prompt_id:
                raise GenerationError(
                    f"ComfyUI at {self.base} queued no prompt_id: {queued!r:.200}"
                )
            picture = self._wait(client, prompt_id)
            image = read_image(
                self._get(client, "/view", params=picture).content,
                f"the picture ComfyUI at {self.base} saved",
            )
        parameters: dict[str, Any] = {
            "width": width,
            "height": height,
            "generated": list(size),
            "checkpoint": checkpoint,
            "negative": negative,
            "steps": self.steps,
            "cfg": self.cfg,
            "sampler": self.sampler,
            "scheduler": self.scheduler,
            "mode": "img2img" if source is not None else "txt2img",
        }
        if source is not None:
            parameters["denoise"] = self.denoise
        used = {"source"} if source is not None else set()
        parameters["roles"] = sorted(used)
        unused = unused_roles(refs, used, {"style": "the graph built here has no IP-Adapter node"})
        if unused:
            parameters["unused_roles"] = unused
        data, laid_out = finish(image, width, height, overlay)
        parameters.update(laid_out)
        recipe = Recipe(IMAGE, self.backend, self.model, prompt, seed, parameters, tuple(parents))
        return Generated(data, "image/png", recipe)

    # ------------------------------------------------------------------ the API
    def _first_checkpoint(self, client: httpx.Client) -> str:
        info = self._json(client, "GET", "/object_info/CheckpointLoaderSimple")
        try:
            spec = info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"]
            # Older servers: [[names...]]; newer: ["COMBO", {"options": [names...]}].
            names = spec[0] if isinstance(spec[0], list) else spec[1]["options"]
        except (KeyError, IndexError, TypeError) as exc:
            raise GenerationError(
                f"ComfyUI at {self.base} lists its checkpoints in a form not known here",
                hint="name one: comfyui:URL?checkpoint=NAME.safetensors",
            ) from exc
        if not names:
            raise GenerationError(
                f"ComfyUI at {self.base} has no checkpoint",
                hint="put one in its models/checkpoints folder",
            )
        return str(names[0])

    def _upload(self, client: httpx.Client, source: Image.Image) -> str:
        png = io.BytesIO()
        source.convert("RGB").save(png, "PNG")
        name = f"assetloom-{uuid.uuid4().hex[:12]}.png"
        reply = self._json(
            client,
            "POST",
            "/upload/image",
            files={"image": (name, png.getvalue(), "image/png")},
            data={"type": "input", "overwrite": "true"},
        )
        stored = reply.get("name")
        if not isinstance(stored, str) or not stored:
            raise GenerationError(f"ComfyUI at {self.base} stored no upload: {reply!r:.200}")
        folder = reply.get("subfolder") or ""
        return f"{folder}/{stored}" if folder else stored

    def _wait(self, client: httpx.Client, prompt_id: str) -> dict[str, str]:
        """The saved picture's /view parameters, once the job is done."""
        deadline = time.monotonic() + self.timeout_s
        pause = _POLL_S[0]
        while True:
            history = self._json(client, "GET", f"/history/{quote(prompt_id, safe='')}")
            job = history.get(prompt_id)
            if isinstance(job, dict):
                status = job.get("status") or {}
                if status.get("status_str") == "error":
                    raise GenerationError(
                        f"ComfyUI at {self.base} failed the job: {_failure(status)}",
                        hint="check the checkpoint name and the server's log",
                    )
                images = ((job.get("outputs") or {}).get(SAVE_NODE) or {}).get("images")
                if images:
                    first = images[0]
                    if not isinstance(first, dict) or not first.get("filename"):
                        raise GenerationError(
                            f"ComfyUI at {self.base} named no file: {first!r:.200}"
                        )
                    return {
                        "filename": str(first["filename"]),
                        "subfolder": str(first.get("subfolder", "")),
                        "type": str(first.get("type", "output")),
                    }
                if status.get("completed"):
                    raise GenerationError(
                        f"ComfyUI at {self.base} finished the job without a picture"
                    )
            if time.monotonic() >= deadline:
                raise GenerationError(
                    f"ComfyUI at {self.base} did not finish the job within {self.timeout_s:g} s",
                    hint="the queue may be long; raise ?timeout= or use fewer steps",
                )
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, _POLL_S[1])

    def _get(self, client: httpx.Client, path: str, **kwargs: Any) -> httpx.Response:
        return self._call(client, "GET", path, **kwargs)

    def _json(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        reply = self._call(client, method, path, **kwargs)
        try:
            data = reply.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise GenerationError(
                f"ComfyUI at {self.base} answered {path} with something that is not its API's "
                f"JSON: {preview(reply.content)}",
                hint="is that address a ComfyUI server?",
            )
        return data

    def _call(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:

        where = f"ComfyUI at {self.base}"
        reply = request(
            client,
            method,
            path,
            where=where,
            what=path,
            timeout_s=self.read_timeout_s,
            server="ComfyUI",
            **kwargs,
        )
        if reply.status_code != 200:
            raise GenerationError(
                f"{where} answered {path} with HTTP {reply.status_code}: {preview(reply.content)}",
                hint="check the checkpoint and option names" if path == "/prompt" else None,
            )
        return reply


def workflow(
    prompt: str,
    negative: str,
    size: tuple[int, int],
    seed: int,
    *,
    checkpoint: str,
    steps: int,
    cfg: float,
    sampler: str,
    scheduler: str,
    start: str | None = None,
    denoise: float = 1.0,
) -> dict[str, Any]:
    """ComfyUI's API-format graph: node id -> {class_type, inputs}, links as [node, output]."""
    graph: dict[str, Any] = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": negative, "clip": ["4", 1]}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": seed,
                "steps": steps,
                "cfg": cfg,
                "sampler_name": sampler,
                "scheduler": scheduler,
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        SAVE_NODE: {
            "class_type": "SaveImage",
            "inputs": {"filename_prefix": "assetloom", "images": ["8", 0]},
        },
    }
    width, height = size
    if start is None:
        graph["5"] = {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": width, "height": height, "batch_size": 1},
        }
    else:
        graph["10"] = {"class_type": "LoadImage", "inputs": {"image": start}}
        graph["11"] = {
            "class_type": "ImageScale",
            "inputs": {
                "image": ["10", 0],
                "upscale_method": "lanczos",
                "width": width,
                "height": height,
                "crop": "center",
            },
        }
        graph["5"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["11", 0], "vae": ["4", 2]}}
        graph["3"]["inputs"]["denoise"] = denoise
    return graph


def _failure(status: Mapping[str, Any]) -> str:
    for message in status.get("messages") or []:
        if isinstance(message, list) and len(message) == 2 and message[0] == "execution_error":
            detail = message[1] if isinstance(message[1], dict) else {}
            node = detail.get("node_type", "a node")
            return f"{node}: {detail.get('exception_message', 'no message')}".strip()
    return "no reason given"


@register(IMAGE, "comfyui", argument="URL")
def _comfyui(url: str) -> ComfyUIImageGenerator:
    return ComfyUIImageGenerator(url)
