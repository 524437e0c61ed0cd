"""Search over the library: text (zh/en), an example image, `like` an asset, or a mix.

Each query runs several retrievers and combines their ranked lists (core.ranking):
  visual    images whose shared-space vector is near the query vector
  text      text documents whose shared-space vector is near the query vector
  keyword   BM25 over what people wrote: names, titles, descriptions, keywords, hand-added
            tags, OCR / transcript and document text (never the model's own tags)
  backbone  images near an example image in the backbone's own visual space
Words queries are ranked by calibrated relevance (core.relevance), example-image queries by
rank fusion. Filters apply afterwards on an over-fetched candidate set.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from assetloom.app.results import SearchHitOut
from assetloom.core.assets import Asset, MediaType, Segment, Space
from assetloom.core.passages import best_passage
from assetloom.core.ranking import Fused, explain, fuse, rank_by_relevance
from assetloom.core.relevance import query_language
from assetloom.errors import BadInputError
from assetloom.ingest.paths import display_path

if TYPE_CHECKING:
    from assetloom.app.library import Library
    from assetloom.models.base import TextEncoder

# How much an example image weighs against the words in a mixed query ("--image x 'warmer'").
IMAGE_WEIGHT = 0.6
OVERFETCH = 10
"""Candidates per list when filters may drop most of them."""
FUSION_DEPTH = 100
"""Candidates per list without filters. On the 1,000 Flickr8k dev images (600 en/zh caption
queries) depth 100 keeps 99.1% of depth 200's top 10 and every top 1, R@10 0.467 vs 0.462,
and a search without query encoding takes 2.8 ms instead of 3.4 (bench/fusion_depth.py)."""
# BM25 with per-field highlights costs per returned row; past 100 rows keyword hits add little
# to a fused top-20 (bench/search_e2e.py at 100k assets: p50 30.1 ms uncapped, 27.8 ms capped).
KEYWORD_DEPTH = 100
SOURCE_WEIGHTS = {Space.VISUAL: 1.0, Space.TEXT: 1.0, "keyword": 0.7, Space.BACKBONE: 1.0}


@dataclass(slots=True)
class SearchQuery:
    text: str | None = None
    image: Path | None = None
    like: str | None = None
    media_type: MediaType | None = None
    tags: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    min_width: int | None = None
    min_height: int | None = None
    status: str | None = None
    limit: int = 20
    min_score: float = 0.0

    @property
    def filtered(self) -> bool:
        """Might filters drop candidates (so more must be fetched)?"""
        return bool(
            self.media_type
            or self.tags
            or self.since
            or self.until
            or self.min_width
            or self.min_height
            or self.status
            or self.min_score
        )


@dataclass(slots=True)
class SearchHit:
    asset: Asset
    score: float
    matched: list[dict[str, Any]]
    explanation: str = ""

    def out(self) -> SearchHitOut:
        return SearchHitOut(
            asset_id=self.asset.asset_id,
            score=self.score,
            original_name=self.asset.original_name,
            media_type=self.asset.media_type.value,
            matched=self.matched,
            explanation=self.explanation,
        )

    def to_json(self) -> dict[str, Any]:
        return self.out().to_json()


class Searcher:
    def __init__(self, lib: Library) -> None:
        self.lib = lib

    def search(self, q: SearchQuery) -> list[SearchHit]:
        if not (q.text and q.text.strip()) and q.image is None and q.like is None:
            raise BadInputError(
                "nothing to search for", hint="give words, --image FILE or --like ASSET_ID"
            )
        k = max(q.limit * OVERFETCH, 50) if q.filtered else max(q.limit, FUSION_DEPTH)
        lists = self.lists(q, k)
        if _calibrated(q, lists):
            fused = rank_by_relevance(lists, query_language(q.text or ""))
        else:
            fused = fuse(lists, SOURCE_WEIGHTS)
        if q.like:
            fused = [f for f in fused if f.asset_id != q.like]
        return self._filter(fused, q)

    def lists(self, q: SearchQuery, k: int) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """Each retriever's ranked list for this query, best first, `k` deep (keywords at most
        KEYWORD_DEPTH): what the ranking reads, and what tools/fit_relevance.py fits on."""
        lists: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        shared_query, picture_query, visual_query = self._query_vectors(q)
        spaces = self.lib.vector_spaces()
        if shared_query is not None and picture_query is not None:
            lists[Space.VISUAL] = spaces.search_assets(Space.VISUAL, picture_query, k)
            lists[Space.TEXT] = spaces.search_assets(Space.TEXT, shared_query, k)
        if visual_query is not None:
            lists[Space.BACKBONE] = spaces.search_assets(Space.BACKBONE, visual_query, k)
        if q.text and q.text.strip():
            lists["keyword"] = [
                (
                    h.asset_id,
                    {"bm25": round(-h.bm25, 4), "fields": list(h.fields)}
                    | ({"partial": True} if h.partial else {}),
                )
                for h in self.lib.catalog.keyword_search(q.text, min(k, KEYWORD_DEPTH))
            ]
        return lists

    def _query_vectors(
        self, q: SearchQuery
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """(vector in the shared space for documents, the same shaped for pictures, vector in
        the backbone space) for this query. Words meet pictures through the image encoder's
        query side (`ImageEncoder.picture_queries`); example images and stored vectors are
        pictures already."""
        parts: list[tuple[np.ndarray, np.ndarray, float]] = []  # (for documents, for pictures)
        visual: np.ndarray | None = None
        sizes = self.lib.vector_spaces().sizes()
        # A library without embeddings (understanding off) answers words by keywords alone.
        if q.text and q.text.strip() and any(sizes.get(s, 0) for s in (Space.VISUAL, Space.TEXT)):
            words = encode_query(self.lib.text_encoder(), q.text.strip())
            as_picture = words
            if sizes.get(Space.VISUAL, 0):
                as_picture = self.lib.image_encoder().picture_queries(
                    words[None, :], [q.text.strip()]
                )[0]
            parts.append((words, as_picture, 1.0))
        if q.image is not None:
            image = _load_image(q.image)
            shared, feats = self.lib.image_encoder().encode_with_features([image])
            parts.append((shared[0], shared[0], IMAGE_WEIGHT if parts else 1.0))
            visual = feats[0]
        if q.like is not None:
            asset = self.lib.get(q.like)
            q.like = asset.asset_id
            stored = self.vectors_of(asset.asset_id)
            like = stored.get(Space.VISUAL, stored.get(Space.TEXT))
            if like is not None:
                parts.append((like, like, IMAGE_WEIGHT if parts else 1.0))
            if Space.BACKBONE in stored and visual is None:
                visual = stored[Space.BACKBONE]
        if not parts:
            return None, None, visual
        documents = _normalise(np.asarray(sum(w * d for d, _, w in parts), dtype=np.float32))
        pictures = _normalise(np.asarray(sum(w * p for _, p, w in parts), dtype=np.float32))
        return documents, pictures, visual

    def vectors_of(self, asset_id: str) -> dict[str, np.ndarray]:
        from assetloom.app.copies import stored_vectors

        stored = stored_vectors(self.lib, asset_id)
        return {space: np.frombuffer(vec, dtype=np.float32) for space, vec in stored.items()}

    def _filter(self, fused: list[Fused], q: SearchQuery) -> list[SearchHit]:
        """Best first until `limit` pass the filters; assets load a chunk at a time."""
        candidates = [f for f in fused if f.score >= q.min_score]
        wanted_tags = set(q.tags)
        hits: list[SearchHit] = []
        chunk = max(2 * q.limit, 50) if q.filtered else q.limit
        for start in range(0, len(candidates), chunk):
            part = candidates[start : start + chunk]
            assets = self.lib.get_many(f.asset_id for f in part)
            for held in self.lib.catalog.held_among(assets):  # quarantined or in the trash
                del assets[held]
            tagged = self._tags_among(list(assets), wanted_tags) if wanted_tags else {}
            if q.status:
                keep = self.lib.catalog.with_status(assets, q.status)
                assets = {i: a for i, a in assets.items() if i in keep}
            passages = self._passages_of_keyword_hits(part, assets)
            for f in part:
                a = assets.get(f.asset_id)
                if a is None or not _passes(a, q):
                    continue
                if wanted_tags and not wanted_tags <= tagged.get(a.asset_id, set()):
                    continue
                matched = [{"source": m.source, "rank": m.rank, **m.detail} for m in f.matched]
                moments = _moments(matched, q.text or "", passages.get(a.asset_id, []))
                why = explain(moments + matched, q.text, _written_fields(a))
                hits.append(SearchHit(a, f.score, moments + matched, why))
                if len(hits) >= q.limit:
                    return hits
        return hits

    def _passages_of_keyword_hits(
        self, part: list[Fused], assets: dict[str, Asset]
    ) -> dict[str, list[Segment]]:
        """Passages of the recordings and documents that keywords found, to say where."""
        wanted = [
            f.asset_id
            for f in part
            if f.asset_id in assets
            and assets[f.asset_id].media_type not in (MediaType.IMAGE, MediaType.TEXT)
            and any(m.source == "keyword" for m in f.matched)
        ]
        return self.lib.catalog.passages_of(wanted) if wanted else {}

    def _tags_among(self, asset_ids: list[str], tags: set[str]) -> dict[str, set[str]]:
        return self.lib.catalog.tags_among(asset_ids, tags)


_query_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_query_lock = threading.Lock()
QUERY_CACHE_SIZE = 2048


def encode_query(encoder: TextEncoder, text: str) -> np.ndarray:
    """Query embedding, remembered per process: people repeat and refine the same searches,
    and encoding is most of a search's CPU time."""
    key = (encoder.name, text)
    with _query_lock:
        if key in _query_cache:
            _query_cache.move_to_end(key)
            return _query_cache[key]
    vector = encoder.encode_queries([text])[0]
    with _query_lock:
        _query_cache[key] = vector
        if len(_query_cache) > QUERY_CACHE_SIZE:
            _query_cache.popitem(last=False)
    return vector


def _moments(
    matched: list[dict[str, Any]], query: str, passages: list[Segment]
) -> list[dict[str, Any]]:
    """Where inside the asset it matched, best first: the part (key frame, passage) whose
    vector was nearest, per retriever, then the passage holding the keywords. Each names
    the retriever (`via`); the retriever entries lose their raw `segment`."""
    moments: list[dict[str, Any]] = []
    for entry in matched:
        segment = entry.pop("segment", None)
        if segment:
            moments.append({**segment, "via": entry["source"], "similarity": entry["similarity"]})
    moments.sort(key=lambda m: -m["similarity"])
    if passages and any(e["source"] == "keyword" for e in matched):
        found = best_passage(query, passages)
        if found is not None and not any(
            m.get("start") == found.start and m.get("page") == found.page for m in moments
        ):
            moments.append({**found.to_json(), "via": "keyword"})
    return moments


def _calibrated(q: SearchQuery, lists: dict[str, list[tuple[str, dict[str, Any]]]]) -> bool:
    """Words alone, with vectors to compare them to: the case core.relevance was fitted on."""
    return (
        bool(q.text and q.text.strip())
        and q.image is None
        and q.like is None
        and (Space.VISUAL in lists or Space.TEXT in lists)
    )


def _written_fields(a: Asset) -> dict[str, str]:
    """The fields of the keyword document at hand without reading it, to name the words."""
    meta: dict[str, Any] = a.metadata or {}
    keywords = meta.get("keywords") or []
    return {
        "name": a.original_name,
        "title": str(meta.get("title") or ""),
        "description": str(meta.get("description") or ""),
        "keywords": " ".join(str(k) for k in keywords) if isinstance(keywords, list) else "",
    }


def _passes(a: Asset, q: SearchQuery) -> bool:
    if q.media_type and a.media_type is not q.media_type:
        return False
    if q.since and a.registered_at < q.since:
        return False
    if q.until and a.registered_at > q.until:
        return False
    if q.min_width and (a.width or 0) < q.min_width:
        return False
    return not (q.min_height and (a.height or 0) < q.min_height)


def _load_image(path: Path) -> Image.Image:
    """The example image, upright RGB; decoded in one of the process's query decode slots
    (JPEGs at a reduced scale), since several at once could take gigabytes."""
    from assetloom.ingest.decode import decode_for_models, query_decodes

    try:
        with query_decodes.slot():
            return decode_for_models(path)
    except FileNotFoundError as exc:
        raise BadInputError(f"{display_path(path)}: no such file") from exc
    except (OSError, ValueError) as exc:
        raise BadInputError(
            f"{display_path(path)}: not a readable image ({exc})",
            hint="--image takes a JPEG, PNG, WebP, GIF, TIFF, BMP or HEIC file",
        ) from exc


def _normalise(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v
