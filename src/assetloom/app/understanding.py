"""What ingest records for search, in the same transaction as the asset: its vectors, its
zero-shot tags and its keyword document."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from assetloom.core.assets import Space
from assetloom.store.base import NewVector

if TYPE_CHECKING:
    from assetloom.core.assets import Asset
    from assetloom.ingest.records import Prepared
    from assetloom.store.catalog import SqlUnitOfWork
    from assetloom.tagging import Tagger

_NAME_SEPARATORS = re.compile(r"[_\-.]+")


def record_understanding(
    tagger: Callable[[], Tagger],
    uow: SqlUnitOfWork,
    pairs: list[tuple[Asset, Prepared]],
    *,
    new: bool,
) -> list[tuple[int, str, bytes]]:
    """Vectors, zero-shot tags and keyword rows of assets (`new`: registered in this
    transaction); (row id, space, vector) of the vectors written, for the vector indexes."""
    visual = [(asset, rec) for asset, rec in pairs if Space.VISUAL in rec.embeddings]
    tags: dict[str, list[tuple[str, float]]] = {}
    if visual:
        vectors = np.stack(
            [np.frombuffer(rec.embeddings[Space.VISUAL], np.float32) for _, rec in visual]
        )
        features = _trunk_features(visual)
        for (asset, _), assigned in zip(visual, tagger().assign(vectors, features), strict=True):
            tags[asset.asset_id] = assigned
    written = uow.add_vectors(
        [
            NewVector(asset.asset_id, space, rec.embedding_model[space], vector)
            for asset, rec in pairs
            for space, vector in rec.embeddings.items()
        ]
        + [
            NewVector(asset.asset_id, v.space, v.model, v.vector, v.segment)
            for asset, rec in pairs
            for v in rec.segment_vectors
        ]
    )
    kept = {} if new else _kept_by_people(tagger, uow, [a.asset_id for a, _ in pairs])
    for asset, rec in pairs:
        assigned = tags.get(asset.asset_id, [])
        if not new:  # re-embedding: a person's tags and rejections stand
            blocked = kept[asset.asset_id][1]
            assigned = [(k, s) for k, s in assigned if k not in blocked]
        uow.add_tags(asset.asset_id, [(key, score, "zero-shot") for key, score in assigned])
        if rec.passages or not new:
            uow.add_passages(asset.asset_id, rec.passages, new=new)
        tag_names: list[str] = []  # the model's tags are not keyword evidence (docs/search.md)
        doc = keyword_document(asset, rec.text_content, tag_names)
        if not new:
            held_names, _, edited = kept[asset.asset_id]
            doc.update(edited)
            doc["tags"] = " ".join(dict.fromkeys([*tag_names, *held_names]))
        uow.upsert_keywords(asset.asset_id, doc, new=new)
    return written


def _trunk_features(visual: list[tuple[Asset, Prepared]]) -> np.ndarray | None:
    """The backbone features of the pictures when all are the Lite2 trunk's: the tagger's
    ImageNet classifier reads them so object and people tags need its agreement (#14)."""
    from assetloom.tagging.imagenet import accepts

    if not all(accepts(rec.embedding_model.get(Space.BACKBONE, "")) for _, rec in visual):
        return None
    return np.stack(
        [np.frombuffer(rec.embeddings[Space.BACKBONE], np.float32) for _, rec in visual]
    )


def _kept_by_people(
    tagger: Callable[[], Tagger], uow: SqlUnitOfWork, asset_ids: list[str]
) -> dict[str, tuple[list[str], set[str], dict[str, str]]]:
    """Per asset: the names of the tags a person added (the only tags that are keyword
    evidence), the tags the tagger must not add (rejected, or held already) and the edited
    keyword fields (app/metadata.py), none of which re-embedding may undo."""
    from assetloom.app.metadata import edited_keyword_fields
    from assetloom.app.tags import tag_names
    from assetloom.store.metadata import MetadataWrites

    writes = MetadataWrites(uow.session)
    held, rejected = writes.tags_of(asset_ids), writes.rejected(asset_ids)
    edited = edited_keyword_fields(writes.states(asset_ids))
    return {
        aid: (
            tag_names(tagger().definitions, manual) if (manual := _manual(held[aid])) else [],
            rejected.get(aid, set()) | set(held[aid]),
            edited.get(aid, {}),
        )
        for aid in asset_ids
    }


def _manual(held: dict[str, str]) -> list[str]:
    return sorted(k for k, source in held.items() if source == "manual")


def keyword_document(
    asset: Asset, text_content: str | None, tag_names: list[str]
) -> dict[str, str]:
    meta: dict[str, Any] = asset.metadata or {}
    keywords = meta.get("keywords") or []
    return {
        "name": _NAME_SEPARATORS.sub(" ", asset.original_name),
        "title": str(meta.get("title", "")),
        "description": str(meta.get("description", "")),
        "keywords": " ".join(str(k) for k in keywords),
        "tags": " ".join(tag_names),
        "content": text_content or "",
    }
