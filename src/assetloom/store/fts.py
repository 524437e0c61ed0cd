"""Keyword search over asset text with SQLite FTS5 (BM25).

FTS5's unicode61 tokenizer keeps a run of Chinese characters as one token, so "科技感" would
never match "蓝色调的科技感产品图". We store and query CJK text one character per token and
search it as a phrase: the standard unigram approach for Chinese in FTS engines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.orm import Session

FIELDS = ("name", "title", "description", "keywords", "tags", "content")
# bm25() weights per column, in FIELDS order: a title hit counts more than one in body text.
_WEIGHTS = "0.0, 2.0, 4.0, 2.0, 3.0, 2.0, 1.0"
_CJK = re.compile(r"([\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af])")
_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+|[^\W_]+", re.UNICODE)
_MAX_CONTENT = 200_000
_SEGMENTED = re.compile(" " + _CJK.pattern + " ")
"""A CJK character as `segment` stored it: between the two spaces it added."""


@dataclass(frozen=True, slots=True)
class KeywordHit:
    asset_id: str
    bm25: float
    fields: tuple[str, ...]
    partial: bool = False
    """Found by the any-term fallback: some of the words ("the", "on") are no evidence."""


def segment(value: str) -> str:
    """Space out CJK characters so each is a token."""
    return _CJK.sub(r" \1 ", value)


def unsegment(value: str) -> str:
    """Undo `segment`: the document field as ingest passed it (FTS5 stores it with a
    space either side of each CJK character), for PostgreSQL's own tokeniser to read.

    Exact: every CJK character in segmented text sits between the two spaces segment put there,
    so removing exactly those gives back the original (tests/backends/test_migrate.py).
    """
    return _SEGMENTED.sub(r"\1", value)


def upsert(s: Session, asset_id: str, doc: dict[str, str], *, new: bool = False) -> None:
    """Write the asset's row. `asset_id` is UNINDEXED in FTS5, so finding an old row scans
    the table: `new` (an asset just registered) skips that, which keeps ingest linear."""
    if not new:
        s.execute(text("DELETE FROM asset_text WHERE asset_id = :a"), {"a": asset_id})
    values = {f: segment(doc.get(f, "")[:_MAX_CONTENT]) for f in FIELDS}
    s.execute(
        text(
            f"INSERT INTO asset_text (asset_id, {', '.join(FIELDS)}) "
            f"VALUES (:asset_id, {', '.join(':' + f for f in FIELDS)})"
        ),
        {"asset_id": asset_id, **values},
    )


def set_tags(s: Session, asset_id: str, tag_names: list[str]) -> None:
    """Refresh the tags field of an asset's row (after a tag was defined or applied)."""
    s.execute(
        text("UPDATE asset_text SET tags = :t WHERE asset_id = :a"),
        {"t": segment(" ".join(tag_names)), "a": asset_id},
    )


def set_fields(s: Session, docs: dict[str, dict[str, str]]) -> None:
    """Replace some fields of many assets' rows (edited title, description, keywords, tags)
    and leave the rest (the content) as it is. The rowids are read in one pass per chunk of
    ids, since `asset_id` is UNINDEXED; each update is then by rowid."""
    ids = list(docs)
    rowids: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ", ".join(f":a{i}" for i in range(len(part)))
        rows = s.execute(
            text(f"SELECT rowid, asset_id FROM asset_text WHERE asset_id IN ({marks})"),
            {f"a{i}": a for i, a in enumerate(part)},
        )
        rowids.update((asset_id, rowid) for rowid, asset_id in rows)
    by_fields: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for asset_id, doc in docs.items():
        values = {f: segment(v[:_MAX_CONTENT]) for f, v in doc.items() if f in FIELDS}
        if asset_id not in rowids:
            upsert(s, asset_id, dict(doc), new=True)
            continue
        by_fields.setdefault(tuple(sorted(values)), []).append({"r": rowids[asset_id], **values})
    for fields, params in by_fields.items():
        if fields:
            assignments = ", ".join(f"{f} = :{f}" for f in fields)
            s.execute(text(f"UPDATE asset_text SET {assignments} WHERE rowid = :r"), params)


def delete(s: Session, asset_id: str) -> None:
    s.execute(text("DELETE FROM asset_text WHERE asset_id = :a"), {"a": asset_id})


def to_match_query(query: str) -> str | None:
    """A safe FTS5 MATCH expression: every word (or CJK run, as a phrase) must appear."""
    terms = []
    for word in _WORD.findall(query.lower()):
        if _CJK.match(word):
            terms.append('"' + " ".join(word) + '"')
        else:
            terms.append(f'"{word}"*' if len(word) >= 3 else f'"{word}"')
    if not terms:
        return None
    return " AND ".join(terms)


def search(s: Session, query: str, limit: int) -> list[KeywordHit]:
    """Best first. Falls back to any-term matching when all-terms finds nothing."""
    expr = to_match_query(query)
    if expr is None:
        return []
    hits = _run(s, expr, limit)
    if not hits and " AND " in expr:
        hits = [replace(h, partial=True) for h in _run(s, expr.replace(" AND ", " OR "), limit)]
    return hits


_HIGHLIGHTS = ", ".join(
    f"highlight(asset_text, {i + 1}, char(2), char(3))" for i in range(len(FIELDS))
)


def _run(s: Session, expr: str, limit: int) -> list[KeywordHit]:
    rows = s.execute(
        text(
            f"SELECT asset_id, bm25(asset_text, {_WEIGHTS}) AS score, {_HIGHLIGHTS} "
            "FROM asset_text WHERE asset_text MATCH :q ORDER BY score LIMIT :n"
        ),
        {"q": expr, "n": limit},
    ).all()
    hits = []
    for row in rows:
        fields = tuple(f for f, m in zip(FIELDS, row[2:], strict=True) if m and "\x02" in m)
        hits.append(KeywordHit(row[0], float(row[1]), fields))
    return hits
