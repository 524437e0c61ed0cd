"""A search result's relevance in 0-1 for a words query: p(this is a right answer).

Rank fusion gave every query the same scores by position (0.500, 0.500, 0.492, ...), so
`--min-score` filtered nothing and said nothing. This is a logistic model of what the
retrievers saw of one asset for one query, fitted on Flickr8k dev-A and checked on dev-B
(`tools/fit_relevance.py`; the figures in docs/search.md):

- picture evidence: the cosine of the query to the image's shared-space vector, and its gap to
  the best picture of this query (a query's own best is a better reference than any fixed
  bar: Chinese cosines run lower than English ones);
- text evidence: the same for a document's text vector. e5's text-to-text cosines sit high
  even for unrelated text (a LICENSE file is 0.78 from "海边的孩子"), so a document needs a
  much higher cosine than a picture for the same relevance: the fit learns that bar;
- keyword evidence: whether the words were found in what people wrote (name, title,
  description, keywords, hand-added tags, OCR and transcript text, document text: never the
  model's own tags) and how high in the keyword list.

Coefficients are per language of the query (any CJK character: zh), since the text encoder
places Chinese queries differently. Each evidence is worth its own logit; an asset takes the
best of its picture and text logits (a video has both) plus its keyword term.

The probability is of being *the* captioned answer in a 500-image library like Flickr8k's:
in a bigger library, or one with many near-identical pictures, the same evidence means a
right answer is less likely to be this one, and real right answers that were not captioned
so count as wrong here. Read it as a comparable, calibrated bar across queries and
languages, not as an exact chance.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")

# Fitted by tools/fit_relevance.py (2026-12-02) on Flickr8k dev-A (dev lines 1-500): the first
# caption of each image as a query, en and zh; pictures from the images-only library (500 images,
# 487 / 463 right answers among 50,000 candidates), documents from the library with every
# caption as a document (49,500 candidates, the query's own caption left out). Logistic
# regression per kind and language (Newton, L2 1e-6); the keyword term with the text model
# as an offset (52 hits only: weakly determined). Checked on dev-B: docs/search.md.
# Refit when the image encoder, its head or the text encoder changes.
CALIBRATION: dict[str, Any] = {
    "version": 1,
    "fitted": "2026-12-02 Flickr8k dev-A, tools/fit_relevance.py, adapted picture queries",
    "picture": {
        "en": {"bias": -4.1112, "cosine": 5.3041, "gap": 12.6399},
        "zh": {"bias": -4.5557, "cosine": 5.9641, "gap": 10.8488},
    },
    "text": {
        "en": {"bias": -28.0448, "cosine": 30.888, "gap": 18.6725},
        "zh": {"bias": -19.1317, "cosine": 18.7679, "gap": 24.7324},
    },
    "keyword": {"hit": 0.0, "top": 0.5695},
}


DOCUMENT_BAR = 0.05
"""Relevance a document needs, without a keyword hit, to rank among pictures. On dev-A the
median picture at rank 4 of a query scores 0.053 (en) / 0.044 (zh), at rank 10 0.022 / 0.020,
so a document below 0.05 is no better evidence than the tail of the pictures; a README near
"海边的孩子" only by e5's text-to-text baseline scores about 0.02."""


def query_language(text: str) -> str:
    """zh when the query holds any CJK character, else en."""
    return "zh" if _CJK.search(text) else "en"


@dataclass(slots=True)
class Evidence:
    """What the retrievers found about one asset for one words query.

    `picture` / `text`: cosine of the query to the asset's vector in that space (None when
    that list did not return it); `*_best`: the best cosine of that list for this query;
    `keyword_rank`: 1-based rank in the keyword list (None: no keyword hit).
    """

    picture: float | None = None
    picture_best: float | None = None
    text: float | None = None
    text_best: float | None = None
    keyword_rank: int | None = None


def features(ev: Evidence) -> dict[str, float]:
    """The inputs of the model, as the fit sees them (picture_*, text_*, keyword_*)."""
    out: dict[str, float] = {}
    for kind, cos, best in (
        ("picture", ev.picture, ev.picture_best),
        ("text", ev.text, ev.text_best),
    ):
        if cos is not None:
            out[f"{kind}_cosine"] = cos
            out[f"{kind}_gap"] = cos - (best if best is not None else cos)
    if ev.keyword_rank is not None:
        out["keyword_hit"] = 1.0
        out["keyword_top"] = 1.0 / math.sqrt(ev.keyword_rank)
    return out


def logit(ev: Evidence, lang: str, calibration: Mapping[str, Any] = CALIBRATION) -> float:
    """The model's log-odds; -inf-like (-50) when there is no evidence at all."""
    f = features(ev)
    best = -50.0
    for kind in ("picture", "text"):
        if f"{kind}_cosine" in f:
            c = calibration[kind][lang]
            z = c["bias"] + c["cosine"] * f[f"{kind}_cosine"] + c["gap"] * f[f"{kind}_gap"]
            best = max(best, z)
    if "keyword_hit" in f:
        k = calibration["keyword"]
        kw = k["hit"] + k["top"] * f["keyword_top"]
        # A keyword hit alone (no vector evidence: understanding off, or far down the vector
        # lists) starts from the bias of the weaker kind of evidence, a document's.
        base = best if best > -50.0 else calibration["text"][lang]["bias"]
        best = base + kw
    return best


def relevance(ev: Evidence, lang: str, calibration: Mapping[str, Any] = CALIBRATION) -> float:
    """p(right answer) in 0..1."""
    return probability(logit(ev, lang, calibration))


def probability(z: float) -> float:
    """The logistic of a log-odds, stable for any finite input."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
