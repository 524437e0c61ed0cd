"""`image=compose`: a campaign visual made from the library's own pictures, no weights needed.

The product (the "subject" reference) is cut out (its alpha channel, or OpenCV GrabCut seeded
with the centre of the frame), placed on the scene (the "background" reference, cover-fitted;
a gradient of the palette without one), the colours of both matched to the "style" reference
(Reinhard et al. 2001: mean and spread per channel in CIELAB), and the headline set in a
CJK-capable face inside safe margins, in white or near-black, whichever contrasts more with
what lies under it, on a translucent panel when even that stays under WCAG's 4.5:1. A real
deliverable per format (1:1, 9:16, 16:9), reproducible from its recipe.
"""

from __future__ import annotations

import io
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from assetloom.create.errors import GenerationError
from assetloom.create.generators.base import IMAGE, Generated, Parent, Recipe, resolve_seed
from assetloom.create.generators.registry import register

MODEL = "compose-1"
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
SAFE_MARGIN = 0.06
"""Of the shorter side, kept clear on every edge (platform UI covers the borders)."""
MIN_CONTRAST = 4.5
"""WCAG 2 AA for text; under it the headline gets a panel."""
GRABCUT_SIDE = 384
_MAX_SIDE = 4096


class ComposeImageGenerator:
    backend = "compose"
    model = MODEL

    def __init__(self, palette: Sequence[str] = ("#2e7d32", "#f1f8e9")) -> None:
        self.palette = list(palette)

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
    ) -> Generated:
        seed = resolve_seed(seed)
        if not (64 <= width <= _MAX_SIDE and 64 <= height <= _MAX_SIDE):
            raise GenerationError(f"compose makes 64 to {_MAX_SIDE} px sides, not {width}x{height}")
        refs = {role: _decode(role, data) for role, data in (references or {}).items()}
        rng = random.Random(seed)
        canvas = _background(refs.get("background"), (width, height), self.palette)
        subject = refs.get("subject")
        cutout = _cut_out(subject) if subject is not None else None
        style = refs.get("style")
        if style is not None:
            canvas = reinhard(canvas, style)
            if cutout is not None:
                rgb = reinhard(cutout.convert("RGB"), style, strength=0.5)
                cutout = Image.merge("RGBA", (*rgb.split(), cutout.getchannel("A")))
        if cutout is not None:
            canvas = _place(canvas, cutout, rng)
        contrast = None
        if overlay.strip():
            canvas, contrast = _headline(canvas, overlay.strip())
        out = io.BytesIO()
        canvas.convert("RGB").save(out, "PNG", optimize=True)
        parameters = {
            "width": width,
            "height": height,
            "palette": self.palette,
            "overlay": overlay,
            "roles": sorted(refs),
            "cutout": "alpha"
            if subject is not None and _has_alpha(subject)
            else "grabcut"
            if subject is not None
            else "none",
        }
        if contrast is not None:
            parameters["text_contrast"] = round(contrast, 2)
        recipe = Recipe(IMAGE, self.backend, self.model, prompt, seed, parameters, tuple(parents))
        return Generated(out.getvalue(), "image/png", recipe)


def _decode(role: str, data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (2048, 2048))
            return ImageOps.exif_transpose(im).copy()
    except (OSError, ValueError) as exc:
        raise GenerationError(
            f"the {role} reference is not a readable image ({exc})",
            hint="a style reference or library picture must be a JPEG, PNG or WebP",
        ) from exc


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema()[0] < 250


def _background(
    scene: Image.Image | None, size: tuple[int, int], palette: Sequence[str]
) -> Image.Image:
    if scene is not None:
        return ImageOps.fit(scene.convert("RGB"), size, Image.Resampling.LANCZOS)
    top, bottom = (_rgb(palette[-1]), _rgb(palette[0])) if palette else ((240,) * 3, (40,) * 3)
    ramp = np.linspace(0.0, 1.0, size[1], dtype=np.float32)[:, None, None]
    rows = (1 - ramp) * np.array(top, np.float32) + ramp * np.array(bottom, np.float32)
    return Image.fromarray(np.broadcast_to(rows, (size[1], size[0], 3)).astype(np.uint8))


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _cut_out(im: Image.Image) -> Image.Image:
    """The subject with an alpha matte: its own alpha, else GrabCut from the central 80 %."""
    if _has_alpha(im):
        return im.convert("RGBA")
    import cv2

    rgb = im.convert("RGB")
    small = rgb.copy()
    small.thumbnail((GRABCUT_SIDE, GRABCUT_SIDE))
    arr = cv2.cvtColor(np.asarray(small), cv2.COLOR_RGB2BGR)
    h, w = arr.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    rect = (int(w * 0.1), int(h * 0.1), int(w * 0.8), int(h * 0.8))
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    cv2.grabCut(arr, mask, rect, bgd, fgd, 5, cv2.GC_INIT_WITH_RECT)
    matte = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    if matte.mean() < 255 * 0.02:  # nothing found: keep the whole frame rather than nothing
        matte[:] = 255
    alpha = Image.fromarray(matte).resize(rgb.size, Image.Resampling.BILINEAR)
    alpha = alpha.filter(ImageFilter.GaussianBlur(max(1, min(rgb.size) // 200)))
    out = rgb.convert("RGBA")
    out.putalpha(alpha)
    return out.crop(alpha.getbbox() or (0, 0, *rgb.size))


def reinhard(im: Image.Image, style: Image.Image, *, strength: float = 1.0) -> Image.Image:
    """`im` with the colour statistics of `style` (per CIELAB channel mean and deviation)."""
    import cv2

    src = cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2LAB).astype(np.float32)
    ref_small = style.convert("RGB").copy()
    ref_small.thumbnail((512, 512))
    ref = cv2.cvtColor(np.asarray(ref_small), cv2.COLOR_RGB2LAB).astype(np.float32)
    s_mean, s_std = src.reshape(-1, 3).mean(0), src.reshape(-1, 3).std(0) + 1e-6
    r_mean, r_std = ref.reshape(-1, 3).mean(0), ref.reshape(-1, 3).std(0) + 1e-6
    moved = (src - s_mean) * (r_std / s_std) + r_mean
    mixed = (1 - strength) * src + strength * moved
    lab = np.clip(mixed, 0, 255).astype(np.uint8)
    return Image.fromarray(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB))


def _place(canvas: Image.Image, cutout: Image.Image, rng: random.Random) -> Image.Image:
    """The product at about half the short side, lower centre (1:1, 9:16) or the right third
    (16:9), with a soft contact shadow."""
    w, h = canvas.size
    target = 0.55 * min(w, h)
    scale = target / max(cutout.size)
    item = cutout.resize(
        (max(1, int(cutout.width * scale)), max(1, int(cutout.height * scale))),
        Image.Resampling.LANCZOS,
    )
    jitter = rng.uniform(-0.02, 0.02)
    if w > h * 1.2:
        cx, cy = w * (0.68 + jitter), h * 0.55
    else:
        cx, cy = w * (0.5 + jitter), h * (0.62 if h > w * 1.2 else 0.58)
    x, y = int(cx - item.width / 2), int(cy - item.height / 2)
    margin = int(SAFE_MARGIN * min(w, h))
    x = min(max(x, margin), w - margin - item.width)
    y = min(max(y, margin), h - margin - item.height)
    shadow = Image.new("L", canvas.size, 0)
    ImageDraw.Draw(shadow).ellipse(
        (
            x + item.width * 0.1,
            y + item.height * 0.92,
            x + item.width * 0.9,
            y + item.height * 1.02,
        ),
        fill=110,
    )
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(2, item.width // 25)))
    out = canvas.convert("RGB")
    out.paste(Image.new("RGB", canvas.size, (0, 0, 0)), (0, 0), shadow)
    out.paste(item, (x, y), item)
    return out


def luminance(rgb: np.ndarray) -> float:
    """WCAG relative luminance of a mean sRGB colour (0..255 per channel)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2])


def contrast_ratio(a: float, b: float) -> float:
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if FONT.exists():
        return ImageFont.truetype(str(FONT), size)
    return ImageFont.load_default(size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: object, width: int) -> list[str]:
    """Lines that fit `width`: by words, or by characters for CJK (no spaces to break at)."""
    units = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    lines: list[str] = []
    line = ""
    for unit in units:
        trial = f"{line}{joiner}{unit}" if line else unit
        if draw.textlength(trial, font=font) <= width or not line:  # type: ignore[arg-type]
            line = trial
        else:
            lines.append(line)
            line = unit
    if line:
        lines.append(line)
    return lines


def _headline(canvas: Image.Image, text: str) -> tuple[Image.Image, float]:
    """Set `text` at the top (left half for 16:9); the contrast ratio it reached."""
    w, h = canvas.size
    margin = int(SAFE_MARGIN * min(w, h))
    box_w = int((w * 0.5 if w > h * 1.2 else w) - 2 * margin)
    size = max(12, int(min(w, h) * 0.075))
    draw = ImageDraw.Draw(canvas)
    while True:
        font = _font(size)
        lines = _wrap(draw, text, font, box_w)
        line_h = int(size * 1.25)
        if len(lines) <= 3 or size <= 12:
            break
        size = int(size * 0.85)
    lines = lines[:3]
    block_h = line_h * len(lines)
    x0, y0 = margin, margin
    region = np.asarray(canvas.convert("RGB").crop((x0, y0, x0 + box_w, y0 + block_h)))
    under = luminance(region.reshape(-1, 3).mean(0))
    white, dark = 1.0, luminance(np.array([20, 20, 20]))
    fill, lum = (
        ((255, 255, 255), white)
        if contrast_ratio(white, under) >= contrast_ratio(dark, under)
        else ((20, 20, 20), dark)
    )
    ratio = contrast_ratio(lum, under)
    out = canvas.convert("RGBA")
    if ratio < MIN_CONTRAST:
        panel = Image.new("RGBA", out.size, (0, 0, 0, 0))
        shade = (0, 0, 0, 150) if fill == (255, 255, 255) else (255, 255, 255, 170)
        pad = size // 3
        ImageDraw.Draw(panel).rounded_rectangle(
            (x0 - pad, y0 - pad, x0 + box_w + pad, y0 + block_h + pad), radius=pad, fill=shade
        )
        out = Image.alpha_composite(out, panel)
        region = np.asarray(out.convert("RGB").crop((x0, y0, x0 + box_w, y0 + block_h)))
        ratio = contrast_ratio(lum, luminance(region.reshape(-1, 3).mean(0)))
    draw = ImageDraw.Draw(out)
    for i, line in enumerate(lines):
        draw.text((x0, y0 + i * line_h), line, font=font, fill=fill)
    return out.convert("RGB"), ratio


@register(IMAGE, "compose")
def _compose(_argument: str) -> ComposeImageGenerator:
    return ComposeImageGenerator()
