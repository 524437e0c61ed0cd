"""Fusing ranked lists from several retrievers (vectors, keywords) into one asset ranking.

Words queries with vectors are ranked by calibrated relevance (`rank_by_relevance`,
core.relevance): p(right answer) from each asset's cosines and keyword evidence, so a score
means the same for every query and language and a document outranks a picture only on real
evidence. Measured on Flickr8k dev-A / dev-B (docs/search.md): rank fusion with keywords at
0.7 let the model's own tags and any caption-like document crowd the pictures.

Queries with an example image (`--image`, `--like`) keep reciprocal-rank fusion (Cormack et
al., SIGIR 2009), which needs no calibration between retrievers whose scores live on
different scales; there is no labelled data for image-to-image relevance to fit one on. Its
scores are normalised to [0, 1] by the best score a single asset could reach (rank 1 in every
list).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assetloom.core.relevance import CALIBRATION, DOCUMENT_BAR, Evidence, logit, probability

RRF_K = 60
PICTURE, TEXT, KEYWORD = "visual", "text", "keyword"
"""The lists `rank_by_relevance` reads (the Space values of the shared space's two sides)."""


@dataclass(slots=True)
class Ranked:
    """One retriever's view of an asset: its rank there and why it matched."""

    source: str
    rank: int
    detail: dict[str, Any]


@dataclass(slots=True)
class Fused:
    asset_id: str
    score: float
    matched: list[Ranked] = field(default_factory=list)


def fuse(
    lists: Mapping[str, Sequence[tuple[str, dict[str, Any]]]],
    weights: Mapping[str, float] | None = None,
    k: int = RRF_K,
) -> list[Fused]:
    """`lists[source]` is [(asset_id, detail), ...] best first; the result is best first."""
    weights = weights or {}
    scores: dict[str, float] = defaultdict(float)
    matched: dict[str, list[Ranked]] = defaultdict(list)
    best_possible = 0.0
    for source, items in lists.items():
        w = weights.get(source, 1.0)
        if items:
            best_possible += w / (k + 1)
        seen: set[str] = set()
        for rank, (asset_id, detail) in enumerate(items, start=1):
            if asset_id in seen:
                continue  # several vectors of one asset: its best one counts
            seen.add(asset_id)
            scores[asset_id] += w / (k + rank)
            matched[asset_id].append(Ranked(source, rank, detail))
    if best_possible == 0:
        return []
    fused = [Fused(a, round(s / best_possible, 6), matched[a]) for a, s in scores.items()]
    fused.sort(key=lambda f: (-f.score, f.asset_id))
    return fused


def rank_by_relevance(
    lists: Mapping[str, Sequence[tuple[str, dict[str, Any]]]],
    lang: str,
    calibration: Mapping[str, Any] = CALIBRATION,
) -> list[Fused]:
    """A words query's lists (`visual` and `text` entries carry "similarity"; `keyword` is
    best first) ranked by calibrated relevance, best first.

    An asset missing from a vector list that ran was below that list's last cosine, so the
    last cosine stands in for its own: an upper bound, which keeps a keyword-only hit from
    being ranked on evidence it lacks. A document that only its text vector found, below
    DOCUMENT_BAR, comes after the pictures: e5 finds any text near any words, so without a
    keyword hit or a paraphrase-level cosine it is no evidence for a visual query."""
    evidence: dict[str, Evidence] = {}
    matched: dict[str, list[Ranked]] = {}
    best: dict[str, float] = {}
    floor: dict[str, float] = {}
    for source in (PICTURE, TEXT, KEYWORD):
        seen: set[str] = set()
        for rank, (asset_id, detail) in enumerate(lists.get(source, ()), start=1):
            if asset_id in seen:
                continue  # several vectors of one asset: its best one counts
            seen.add(asset_id)
            ev = evidence.setdefault(asset_id, Evidence())
            matched.setdefault(asset_id, []).append(Ranked(source, rank, detail))
            if source == KEYWORD:
                if not detail.get("partial"):  # the fit saw all-words hits only
                    ev.keyword_rank = rank
                continue
            cosine = float(detail["similarity"])
            best.setdefault(source, cosine)
            floor[source] = cosine
            if source == PICTURE:
                ev.picture, ev.picture_best = cosine, best[source]
            else:
                ev.text, ev.text_best = cosine, best[source]
    for ev in evidence.values():
        if ev.picture is None and ev.text is None:
            if PICTURE in floor:
                ev.picture, ev.picture_best = floor[PICTURE], best[PICTURE]
            if TEXT in floor:
                ev.text, ev.text_best = floor[TEXT], best[TEXT]
    pictures = {a for a, ev in evidence.items() if ev.picture is not None}
    weak: set[str] = set()
    scored = []
    for a, ev in evidence.items():
        z = logit(ev, lang, calibration)
        if pictures and _document_without_evidence(matched[a], probability(z)):
            weak.add(a)
        scored.append((a in weak, -z, a))
    scored.sort()
    return [Fused(a, round(probability(-z), 6), matched[a]) for _, z, a in scored]


def _document_without_evidence(matched: Sequence[Ranked], p: float) -> bool:
    """Found by its text vector, below DOCUMENT_BAR, and by no keyword hit of all the words
    (an any-term hit on "the" or "on" is none): it yields to every picture."""
    sources = {m.source for m in matched if not m.detail.get("partial")}
    return sources == {TEXT} and p < DOCUMENT_BAR


# --- explanations in words -----------------------------------------------------------------------

_FIELD_WORDS = {
    "name": "file name",
    "title": "title",
    "description": "description",
    "keywords": "keywords",
    "tags": "tags",
    "content": "text",
}
_SOURCE_WORDS = {
    "transcript": "speech",
    "frame": "frame",
    "page": "page",
    "ocr": "text in the picture",
    "content": "passage",
}
_QUOTE_MAX = 60
_WORDS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+|[^\W_]+", re.UNICODE)


def explain(
    matched: Sequence[Mapping[str, Any]],
    query: str | None,
    fields: Mapping[str, str] | None = None,
) -> str:
    """Why a hit matched, in words: "picture matches 'dog on grass'; title contains 'grass'".

    `matched` is the hit's own list (moments first: they carry `via`; then one entry per
    retriever); `fields` the asset's name, title, description and keywords, to say which of
    the query's words each field holds. Without words (an example image, `--like`), the
    vectors' reasons name the example instead."""
    said = f"'{_shorten(query)}'" if query and query.strip() else "the example"
    parts: list[str] = []
    moment_via: set[str] = set()
    for m in matched:
        if "via" not in m:
            continue
        place = _place(m)
        if m["via"] == KEYWORD:
            parts.append(f"{place} contains {_found_or_query(query, m.get('text') or '')}")
        else:
            verb = "reads like" if m["via"] == TEXT else "matches"
            parts.append(f"{place} {verb} {said}")
        moment_via.add(m["via"])
    for m in matched:
        source = m.get("source")
        if "rank" not in m or source in moment_via:
            continue
        if source == PICTURE:
            parts.append(f"picture matches {said}")
        elif source == TEXT:
            parts.append(f"text reads like {said}")
        elif source == "backbone":
            parts.append("looks like the example picture")
        elif source == KEYWORD:
            for name in m.get("fields") or ["content"]:
                text = (fields or {}).get(name, "")
                found = _found_or_query(query, text, partial=bool(m.get("partial")))
                parts.append(f"{_FIELD_WORDS.get(name, name)} contains {found}")
    return "; ".join(dict.fromkeys(parts))


def _place(m: Mapping[str, Any]) -> str:
    kind = _SOURCE_WORDS.get(str(m.get("source")), str(m.get("source")))
    if m.get("start") is not None:
        minutes, secs = divmod(int(float(m["start"])), 60)
        return f"{kind} at {minutes}:{secs:02}"
    if m.get("page") is not None:
        return f"page {m['page']}" if kind in ("page", "passage") else f"{kind}, page {m['page']}"
    return kind


def _found_or_query(query: str | None, text: str, *, partial: bool = False) -> str:
    """The query's words that `text` holds (words of three letters on as prefixes, as the
    keyword index matches them), quoted; the whole query when it holds them all or the text
    is not at hand."""
    words = _WORDS.findall((query or "").casefold())
    held = _WORDS.findall(text.casefold())
    found = [
        w
        for w in dict.fromkeys(words)
        if any(
            h == w or (len(w) >= 3 and h.startswith(w)) or (w in h and not w.isascii())
            for h in held
        )
    ]
    if not found:
        return "some of the words" if partial else f"'{_shorten(query or '')}'"
    if len(found) == len(set(words)):
        return f"'{_shorten(query or '')}'"
    telling = [w for w in found if not (w.isascii() and len(w) < 3)]  # not "a", "on"
    return ", ".join(f"'{w}'" for w in telling or found)


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 1] + "…"
