"""What the model-backed image backends share: the size they ask a model for, their arguments'
`?name=value` options, the references they decode, and how a model's picture becomes the
deliverable (fitted to the format asked, the headline set as `image=compose` sets it, PNG).

Models draw best at the size they were trained at, so each asks for about that many pixels in
the format's aspect ratio and the picture is then scaled to the exact format (1080x1920, say);
the recipe records both sizes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from assetloom.create.errors import GenerationError
from assetloom.create.generators.image_compose import _decode, _headline

if TYPE_CHECKING:
    from PIL import Image

MAX_SIDE = 4096
UNUSED = {
    "subject": "a model draws the product from the prompt; image=compose places the library's",
    "background": "a model draws the scene from the prompt; image=compose places the library's",
}
"""Why a role a model-backed backend cannot use was left out, as its recipe says."""


def check_size(width: int, height: int, backend: str) -> None:
    if not (64 <= width <= MAX_SIDE and 64 <= height <= MAX_SIDE):
        raise GenerationError(f"{backend} makes 64 to {MAX_SIDE} px sides, not {width}x{height}")


def generation_size(width: int, height: int, native: int, *, multiple: int = 64) -> tuple[int, int]:
    """About native x native pixels in the aspect ratio of width x height, each side a
    multiple of `multiple` (the latent grid of a UNet with three downsamplings)."""
    scale = math.sqrt(native * native / (width * height))
    return (
        max(multiple, round(width * scale / multiple) * multiple),
        max(multiple, round(height * scale / multiple) * multiple),
    )


def split_options(
    argument: str, allowed: Mapping[str, str], usage: str
) -> tuple[str, dict[str, str]]:
    """`BASE?name=value&...` -> (BASE, options); `allowed` maps each name to what it means."""
    base, _, query = argument.strip().partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(options.keys() - allowed.keys())
    if unknown:
        known = ", ".join(f"{k} ({v})" for k, v in allowed.items())
        raise GenerationError(
            f"{usage} has unknown options {', '.join(unknown)}", hint=f"options: {known}"
        )
    return base.strip(), options


def number(options: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """Option `name` as a number from `low` to `high`, or `default` when absent."""
    if name not in options:
        return default
    try:
        value = float(options[name])
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        raise GenerationError(f"option {name}={options[name]!r} must be from {low:g} to {high:g}")
    return value


def decode_references(references: Mapping[str, bytes] | None) -> dict[str, Image.Image]:
    return {role: _decode(role, data) for role, data in (references or {}).items()}


def unused_roles(
    refs: Mapping[str, object], used: set[str], why: Mapping[str, str]
) -> dict[str, str]:
    """Each reference given but not used, with the reason the recipe records."""
    reasons = {**UNUSED, **why}
    return {
        r: reasons.get(r, "not a role this backend reads") for r in sorted(refs) if r not in used
    }


def finish(
    image: Image.Image, width: int, height: int, overlay: str
) -> tuple[bytes, dict[str, Any]]:
    """The deliverable: `image` cover-fitted to width x height, the headline set on it, as PNG
    bytes; and what the recipe records of that (the contrast the headline reached)."""
    from PIL import Image, ImageOps

    canvas = image.convert("RGB")
    if canvas.size != (width, height):
        canvas = ImageOps.fit(canvas, (width, height), Image.Resampling.LANCZOS)
    parameters: dict[str, Any] = {"overlay": overlay}
    if overlay.strip():
        canvas, contrast = _headline(canvas, overlay.strip())
        parameters["text_contrast"] = round(contrast, 2)
    out = io.BytesIO()
    canvas.save(out, "PNG", optimize=True)
    return out.getvalue(), parameters


def read_image(data: bytes, what: str) -> Image.Image:
    """Image bytes a server sent back, decoded whole, or a GenerationError naming `what`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        preview = data[:120].decode("utf-8", "replace").strip()
        raise GenerationError(
            f"{what} is not an image ({exc}): {preview!r}" if preview else f"{what} is empty"
        ) from exc
