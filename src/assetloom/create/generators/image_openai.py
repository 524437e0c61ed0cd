"""`image=openai:URL`: pictures from an OpenAI-compatible images API.

`POST {URL}/images/generations` with the prompt and a size, the picture back as `b64_json`
(or a `url` to fetch); a "source" reference goes to `POST {URL}/images/edits` instead, as a
multipart PNG, for servers that have it. The URL is the API base (`http://127.0.0.1:8080/v1`);
options follow a `?`:

- `model` (default `gpt-image-1`);
- `size`: `auto` (the default: 1024x1024, 1536x1024 or 1024x1536, whichever is nearest the
  format's aspect), `exact` (the format's own size, for servers that take any), or `WxH`;
- `key_env`: the environment variable holding the API key, sent as a Bearer token. The key
  itself is never an option: the argument is recorded in every recipe and may sit in
  assetloom.toml, so it names the variable, not the secret. A key is sent over https, or over
  http to a loopback address only.

The API has no negative prompt and no seed: the seed is recorded, not sent, so whether a recipe
remakes the same picture is up to the server. The reply is fitted to the exact format asked.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from assetloom.create.errors import GenerationError
from assetloom.create.generators.base import IMAGE, Generated, Parent, Recipe, resolve_seed
from assetloom.create.generators.http import api_key, preview, refuse_secrets, request
from assetloom.create.generators.image_common import (
    check_size,
    decode_references,
    finish,
    number,
    read_image,
    split_options,
    unused_roles,
)
from assetloom.create.generators.registry import register

if TYPE_CHECKING:
    import httpx
    from PIL import Image

OPTIONS = {
    "model": "the model the server runs, default gpt-image-1",
    "size": "auto, exact or WxH (default auto)",
    "key_env": "the environment variable holding the API key",
    "timeout": "seconds one picture may take, default 180",
}
DEFAULT_MODEL = "gpt-image-1"
SIZES = ((1024, 1024), (1536, 1024), (1024, 1536))
"""What gpt-image-1 draws; `size=auto` picks the nearest in aspect."""
CONNECT_TIMEOUT_S = 5.0
_SIZE = re.compile(r"(\d{2,5})x(\d{2,5})")
_NO_EDITS = {404, 405, 501}


class OpenAIImageGenerator:
    backend = "openai"

    def __init__(self, argument: str, *, environ: Mapping[str, str] | None = None) -> None:
        usage = f"image=openai:{argument}"
        refuse_secrets(argument, "images")
        url, options = split_options(argument, OPTIONS, usage)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise GenerationError(
                f"images endpoint {url!r} is not an http(s) URL",
                hint="write image=openai:http://HOST:PORT/v1",
            )
        path = parts.path.rstrip("/")
        for suffix in ("/images/generations", "/images/edits"):
            path = path.removesuffix(suffix)
        if not path.endswith("/v1"):
            path += "/v1"
        root = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self.generations, self.edits = f"{root}/images/generations", f"{root}/images/edits"
        self.model = url
        self.remote_model = options.get("model", DEFAULT_MODEL)
        self.size = options.get("size", "auto")
        if self.size not in ("auto", "exact") and not _SIZE.fullmatch(self.size):
            raise GenerationError(f"option size={self.size!r} is none of auto, exact or WxH")
        self.timeout_s = number(options, "timeout", 180, 0.1, 3600)
        self.key_env = options.get("key_env", "")
        self._key = api_key(self.key_env, url, "images", os.environ if environ is None else environ)

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
        """`negative` is taken for the protocol's sake: the images API has no negative prompt."""
        import httpx

        seed = resolve_seed(seed)
        check_size(width, height, "openai")
        refs = decode_references(references)
        source = refs.get("source")
        size = self._size(width, height)
        body: dict[str, Any] = {
            "model": self.remote_model,
            "prompt": prompt,
            "n": 1,
            "size": f"{size[0]}x{size[1]}",
        }
        if not self.remote_model.startswith("gpt-image"):  # those always answer b64_json
            body["response_format"] = "b64_json"
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        timeout = httpx.Timeout(self.timeout_s, connect=CONNECT_TIMEOUT_S)
        with httpx.Client(timeout=timeout, follow_redirects=False, headers=headers) as client:
            if source is None:
                reply = self._post(client, self.generations, json=body)
            else:
                reply = self._post(
                    client,
                    self.edits,
                    data={k: str(v) for k, v in body.items()},
                    files={"image": ("source.png", _png(source), "image/png")},
                )
            image = self._picture(client, reply)
        parameters: dict[str, Any] = {
            "width": width,
            "height": height,
            "generated": list(size),
            "remote_model": self.remote_model,
            "mode": "edit" if source is not None else "generate",
            "seed_sent": False,
        }
        used = {"source"} if source is not None else set()
        parameters["roles"] = sorted(used)
        unused = unused_roles(refs, used, {"style": "the images API takes no style image"})
        if unused:
            parameters["unused_roles"] = unused
        data, laid_out = finish(image, width, height, overlay)
        parameters.update(laid_out)
        recipe = Recipe(IMAGE, self.backend, self.model, prompt, seed, parameters, tuple(parents))
        return Generated(data, "image/png", recipe)

    def _size(self, width: int, height: int) -> tuple[int, int]:
        if self.size == "exact":
            return width, height
        match = _SIZE.fullmatch(self.size)
        if match:
            return int(match[1]), int(match[2])
        return min(SIZES, key=lambda s: abs(s[0] / s[1] - width / height))

    def _post(self, client: httpx.Client, url: str, **kwargs: Any) -> httpx.Response:

        where = f"the images endpoint {url}"
        reply = request(
            client,
            "POST",
            url,
            where=where,
            timeout_s=self.timeout_s,
            slow_hint="the server may be overloaded; raise ?timeout= or use a faster model",
            **kwargs,
        )
        if url == self.edits and reply.status_code in _NO_EDITS:
            raise GenerationError(
                f"{where} is not there (HTTP {reply.status_code}): this server cannot "
                "re-purpose a picture",
                hint="use image=diffusers:DIR or image=comfyui:URL for a source image",
            )
        if reply.status_code == 401:
            raise GenerationError(
                f"{where} refused the request (HTTP 401): {preview(reply.content)}",
                hint="name the variable holding a valid key: ?key_env=NAME",
            )
        if reply.status_code != 200:
            raise GenerationError(
                f"{where} answered HTTP {reply.status_code}: {preview(reply.content)}",
                hint="check the model name and size in the URL's options",
            )
        return reply

    def _picture(self, client: httpx.Client, reply: httpx.Response) -> Image.Image:
        import httpx

        what = f"the reply of {reply.request.url}"
        try:
            data = reply.json()
            item = data["data"][0]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GenerationError(
                f"{what} is not the images API's JSON: {preview(reply.content)}",
                hint='an OpenAI-compatible server answers {"data": [{"b64_json": ...}]}',
            ) from exc
        if isinstance(item, dict) and isinstance(item.get("b64_json"), str):
            try:
                raw = base64.b64decode(item["b64_json"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise GenerationError(f"{what} holds b64_json that is not base64") from exc
            return read_image(raw, f"the picture in {what}")
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            try:
                fetched = client.get(item["url"])
            except httpx.HTTPError as exc:
                raise GenerationError(f"cannot fetch the picture {what} points at: {exc}") from exc
            if fetched.status_code != 200:
                raise GenerationError(
                    f"the picture {what} points at answered HTTP {fetched.status_code}"
                )
            return read_image(fetched.content, f"the picture {what} points at")
        raise GenerationError(f"{what} holds neither b64_json nor url: {preview(reply.content)}")


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG")
    return out.getvalue()


@register(IMAGE, "openai", argument="URL")
def _openai(url: str) -> OpenAIImageGenerator:
    return OpenAIImageGenerator(url)
