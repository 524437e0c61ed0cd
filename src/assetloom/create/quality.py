"""Technical quality of what the studio made, named for what each figure measures.

These are not an aesthetic score: sharpness (variance of the Laplacian of the luminance,
Pech-Pacheco et al. 2000), exposure (mean luminance and the share of clipped pixels),
colourfulness (Hasler and Süsstrunk 2003, M3), and for copy its length and language.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from PIL import Image

_CJK = re.compile(r"[\u3400-\u9fff]")
HEADLINE_MAX = {"zh": 30, "en": 80}
BODY_MAX = {"zh": 300, "en": 600}


def technical(im: Image.Image) -> dict[str, float]:
    small = im.convert("RGB")
    small.thumbnail((768, 768))
    rgb = np.asarray(small, dtype=np.float32)
    lum = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    lap = -4 * lum[1:-1, 1:-1] + lum[:-2, 1:-1] + lum[2:, 1:-1] + lum[1:-1, :-2] + lum[1:-1, 2:]
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    colourfulness = float(
        np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(abs(rg.mean()), abs(yb.mean()))
    )
    return {
        "sharpness": round(float(lap.var()), 1),
        "exposure_mean": round(float(lum.mean() / 255.0), 3),
        "clipped": round(float(((lum < 3) | (lum > 252)).mean()), 4),
        "colourfulness": round(colourfulness, 1),
    }


def text_quality(text: str, language: str) -> dict[str, Any]:
    """Length of the headline and body, and whether the copy is in the language asked for."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    headline = lines[0] if lines else ""
    body = " ".join(lines[1:-1] if len(lines) > 2 else lines[1:])
    letters = [c for c in text if c.isalpha()]
    zh_share = sum(bool(_CJK.match(c)) for c in letters) / len(letters) if letters else 0.0
    lang_ok = zh_share > 0.3 if language == "zh" else zh_share < 0.1
    return {
        "characters": len(text.strip()),
        "headline_chars": len(headline),
        "headline_ok": 0 < len(headline) <= HEADLINE_MAX.get(language, 80),
        "body_ok": 0 < len(body) <= BODY_MAX.get(language, 600),
        "language_ok": lang_ok,
        "repeated_lines": len(lines) - len(set(lines)),
    }
