"""The library's own tags: definitions kept in the catalog, applied to every image."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from assetloom.errors import BadInputError
from assetloom.store.search_tables import EmbeddingRow, TagDefinitionRow, TagRow
from assetloom.tagging import TagDefinition

if TYPE_CHECKING:
    from assetloom.app.library import Library

ASSIGNED = 0.5
"""Tagger scores are calibrated so that 0.5 is each tag's own threshold."""
_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


@dataclass(slots=True)
class TagSummary:
    key: str
    name_en: str
    name_zh: str
    builtin: bool
    assets: int

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name_en": self.name_en,
            "name_zh": self.name_zh,
            "builtin": self.builtin,
            "assets": self.assets,
        }


def user_definitions(s: Session) -> list[TagDefinition]:
    return [
        TagDefinition(
            key=row.key,
            name_en=row.name_en,
            name_zh=row.name_zh,
            threshold=row.threshold if row.threshold >= 0 else None,
            builtin=False,
            examples=tuple(row.examples or ()),
        )
        for row in s.scalars(select(TagDefinitionRow).where(TagDefinitionRow.builtin.is_(False)))
    ]


def visual_vectors(lib: Library, asset_ids: list[str]) -> np.ndarray:
    """The stored visual vectors of these assets (the examples of a user tag)."""
    with lib.read_session() as s:
        rows = s.execute(
            select(EmbeddingRow.asset_id, EmbeddingRow.vector).where(
                EmbeddingRow.asset_id.in_(asset_ids), EmbeddingRow.space == "visual"
            )
        ).all()
    found = dict(rows)
    missing = [a for a in asset_ids if a not in found]
    if missing:
        raise BadInputError(
            f"example assets without a visual vector: {', '.join(missing)}",
            hint="examples must be images added with understanding on (`assetloom index embed`)",
        )
    return np.stack([np.frombuffer(found[a], dtype=np.float32) for a in asset_ids])


def define_tag(
    lib: Library,
    key: str,
    name_en: str,
    name_zh: str,
    examples: list[str],
    threshold: float | None,
) -> int:
    """Store a tag and apply it to every image; returns how many images it tagged."""
    key = key.strip().lower()
    if not _KEY.match(key):
        raise BadInputError(
            f"tag key {key!r} is not valid", hint="use lowercase letters, digits, '-' and '_'"
        )
    if not (name_en.strip() or name_zh.strip() or examples):
        raise BadInputError("a tag needs an English or Chinese name, or example assets")
    example_ids = [lib.get(e).asset_id for e in examples]
    if example_ids:
        visual_vectors(lib, example_ids)  # fail early, with the reason, if unusable
    if any(d.key == key and d.builtin for d in lib.tagger().definitions):
        raise BadInputError(f"{key!r} is a built-in tag", hint="choose another key")
    with lib.write_session() as s, s.begin():
        s.merge(
            TagDefinitionRow(
                key=key,
                name_en=name_en.strip(),
                name_zh=name_zh.strip(),
                threshold=-1.0 if threshold is None else threshold,
                builtin=False,
                examples=example_ids,
            )
        )
    lib.reset_tagger()
    return apply_tag(lib, key)


def apply_tag(lib: Library, key: str) -> int:
    """(Re)score every image for one tag and store the ones above its threshold."""
    tagger = lib.tagger()
    column = tagger.keys.index(key)
    tagged = 0
    with lib.write_session() as s, s.begin():
        s.execute(delete(TagRow).where(TagRow.tag == key))
        rows = s.execute(
            select(EmbeddingRow.asset_id, EmbeddingRow.vector).where(EmbeddingRow.space == "visual")
        ).all()
        for start in range(0, len(rows), 4096):
            part = rows[start : start + 4096]
            vectors = np.stack([np.frombuffer(v, dtype=np.float32) for _, v in part])
            scores = tagger.scores(vectors)[:, column]
            for (asset_id, _), score in zip(part, scores, strict=True):
                if score >= ASSIGNED:
                    s.add(TagRow(asset_id=asset_id, tag=key, score=float(score), source="user"))
                    _refresh_keyword_tags(lib, s, asset_id)
                    tagged += 1
    return tagged


def _refresh_keyword_tags(lib: Library, s: Session, asset_id: str) -> None:
    s.flush()
    keys = list(s.scalars(select(TagRow.tag).where(TagRow.asset_id == asset_id)))
    from assetloom.store.fts import segment

    s.execute(
        text("UPDATE asset_text SET tags = :t WHERE asset_id = :a"),
        {"t": segment(" ".join(lib.tagger().names(keys))), "a": asset_id},
    )


def list_tags(lib: Library) -> list[TagSummary]:
    with lib.read_session() as s:
        counts = dict(s.execute(select(TagRow.tag, func.count()).group_by(TagRow.tag)).all())
    return [
        TagSummary(d.key, d.name_en, d.name_zh, d.builtin, int(counts.get(d.key, 0)))
        for d in lib.tagger().definitions
    ]


def used_tags(lib: Library, limit: int = 100) -> list[TagSummary]:
    """The tags assets have, most used first, with their names; unlike `list_tags` it needs
    no text encoder, so a page can offer them without loading a model."""
    from assetloom.tagging import load_builtin_definitions

    with lib.read_session() as s:
        counts = s.execute(
            select(TagRow.tag, func.count())
            .group_by(TagRow.tag)
            .order_by(func.count().desc(), TagRow.tag)
            .limit(limit)
        ).all()
        if not counts:
            return []
        names = {d.key: d for d in load_builtin_definitions() + user_definitions(s)}
    return [
        TagSummary(
            key,
            names[key].name_en if key in names else key,
            names[key].name_zh if key in names else "",
            names[key].builtin if key in names else False,
            int(n),
        )
        for key, n in counts
    ]


def tags_of(lib: Library, asset_id: str) -> list[dict[str, object]]:
    tagger = lib.tagger()
    by_key = {d.key: d for d in tagger.definitions}
    with lib.read_session() as s:
        rows = s.execute(
            select(TagRow.tag, TagRow.score, TagRow.source)
            .where(TagRow.asset_id == asset_id)
            .order_by(TagRow.score.desc())
        ).all()
    return [
        {
            "key": key,
            "name_en": by_key[key].name_en if key in by_key else key,
            "name_zh": by_key[key].name_zh if key in by_key else "",
            "score": round(float(score), 4),
            "source": source,
        }
        for key, score, source in rows
    ]
