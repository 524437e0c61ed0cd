"""What ingest records for search, in the same transaction as the asset: its vectors, its
zero-shot tags and its keyword document."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from assetloom.store import fts
from assetloom.store.search_tables import EmbeddingRow, TagRow

if TYPE_CHECKING:
    from assetloom.app.library import Library
    from assetloom.ingest.prepare import Prepared
    from assetloom.store.schema import AssetRow

_NAME_SEPARATORS = re.compile(r"[_\-.]+")


def record_understanding(
    lib: Library, s: Session, pairs: list[tuple[AssetRow, Prepared]]
) -> list[EmbeddingRow]:
    embeddings: list[EmbeddingRow] = []
    visual = [(row, rec) for row, rec in pairs if "visual" in rec.embeddings]
    tags: dict[str, list[tuple[str, float]]] = {}
    if visual:
        vectors = np.stack(
            [np.frombuffer(rec.embeddings["visual"], np.float32) for _, rec in visual]
        )
        for (row, _), assigned in zip(visual, lib.tagger().assign(vectors), strict=True):
            tags[row.asset_id] = assigned
    for row, rec in pairs:
        for space, vector in rec.embeddings.items():
            emb = EmbeddingRow(
                asset_id=row.asset_id, space=space, model=rec.embedding_model[space], vector=vector
            )
            s.add(emb)
            embeddings.append(emb)
        for key, score in tags.get(row.asset_id, []):
            s.add(TagRow(asset_id=row.asset_id, tag=key, score=score, source="zero-shot"))
        assigned = [k for k, _ in tags.get(row.asset_id, [])]
        tag_names = lib.tagger().names(assigned) if assigned else []
        fts.upsert(s, row.asset_id, keyword_document(row, rec.text_content, tag_names))
    s.flush()
    return embeddings


def keyword_document(
    row: AssetRow, text_content: str | None, tag_names: list[str]
) -> dict[str, str]:
    meta: dict[str, Any] = row.metadata_json or {}
    keywords = meta.get("keywords") or []
    return {
        "name": _NAME_SEPARATORS.sub(" ", row.original_name),
        "title": str(meta.get("title", "")),
        "description": str(meta.get("description", "")),
        "keywords": " ".join(str(k) for k in keywords),
        "tags": " ".join(tag_names),
        "content": text_content or "",
    }
