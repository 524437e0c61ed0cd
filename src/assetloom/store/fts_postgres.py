"""Keyword search over asset text on PostgreSQL: `tsvector` + GIN, the same contract as store.fts.

Why this method (bench/pg_keywords.py measures it against pg_trgm on Flickr8k captions):

- Text is tokenised here, in Python, exactly like store.fts does for SQLite: lower case,
  Latin diacritics removed (FTS5's `remove_diacritics 2`), and every CJK character its own
  token, so a Chinese word is a phrase of characters (`'科' <-> '技' <-> '感'`). The database's
  locale never decides what a token is. pg_trgm does depend on it: under `LC_CTYPE=C` (what
  scripts/services.sh and many images create) it extracts no trigram at all from CJK text.
- The `simple` configuration: no stemming and no stop words, as FTS5's unicode61. English words
  of three letters or more match as prefixes ('harb' finds 'harbour'), like store.fts.
- asset_text keeps the tokenised fields as columns; `document` is a generated tsvector with
  per-field weights (title A, keywords B, name / description / tags C, content D), so a plain
  INSERT of the columns is all a writer does.

Scores: KeywordHit.bm25 is the negated ts_rank, so lower is better, as SQLite's bm25().
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetloom.store.fts import FIELDS, KeywordHit

__all__ = [
    "FIELDS",
    "KeywordHit",
    "delete",
    "search",
    "set_fields",
    "set_tags",
    "tokens",
    "upsert",
]

# ts_rank weights {D, C, B, A}: content 1, name/description/tags 2, keywords 3, title 4
# (the ratios of store.fts's bm25 weights; FTS5 gives `name` 2 as well).
RANK_WEIGHTS = "{0.25, 0.5, 0.75, 1.0}"
# The weight of each field in asset_text.document (migration 0003 builds it so).
_WEIGHT_OF = {
    "name": "C",
    "title": "A",
    "description": "C",
    "keywords": "B",
    "tags": "C",
    "content": "D",
}
# ts_rank normalisation 1: divide by 1 + log(document length), so a short title that matches
# is not outranked by a long body that merely repeats the word (BM25 does the same).
RANK_NORMALIZATION = 1

_CJK_RANGES = "\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_CJK = re.compile(f"[{_CJK_RANGES}]")
# A CJK run, or a run of letters / digits that are not CJK (so 'abc中文' is 'abc' + '中文').
_TERM = re.compile(f"[{_CJK_RANGES}]+|(?:(?![{_CJK_RANGES}])[^\\W_])+")
_MAX_CONTENT = 200_000  # characters, as store.fts
_MAX_TOKEN = 100  # characters; PostgreSQL refuses lexemes over 2 KB, nobody searches for these


def fold(value: str) -> str:
    """NFKC, lower case, Latin/Greek/Cyrillic diacritics removed (kana and hangul untouched)."""
    value = unicodedata.normalize("NFKC", value).lower()
    if value.isascii():
        return value
    out = []
    for ch in value:
        if 0x80 <= ord(ch) < 0x2000:
            decomposed = unicodedata.normalize("NFD", ch)
            out.append("".join(c for c in decomposed if not unicodedata.combining(c)))
        else:
            out.append(ch)
    return "".join(out)


def terms(value: str) -> list[str]:
    """Words and CJK runs of `value`, folded."""
    return [t for t in _TERM.findall(fold(value)) if len(t) <= _MAX_TOKEN]


def tokens(value: str) -> str:
    """What asset_text stores: folded words and single CJK characters, space separated."""
    out: list[str] = []
    for term in terms(value):
        if _CJK.match(term):
            out.extend(term)
        else:
            out.append(term)
    return " ".join(out)


def upsert(s: Session, asset_id: str, doc: dict[str, str], *, new: bool = False) -> None:
    values = {f: tokens(doc.get(f, "")[:_MAX_CONTENT]) for f in FIELDS}
    s.execute(
        text(
            f"INSERT INTO asset_text (asset_id, {', '.join(FIELDS)}) "
            f"VALUES (:asset_id, {', '.join(':' + f for f in FIELDS)}) "
            "ON CONFLICT (asset_id) DO UPDATE SET "
            + ", ".join(f"{f} = EXCLUDED.{f}" for f in FIELDS)
        ),
        {"asset_id": asset_id, **values},
    )


def set_tags(s: Session, asset_id: str, tag_names: list[str]) -> None:
    """Refresh the tags field of an asset's row (the document follows: it is generated)."""
    s.execute(
        text("UPDATE asset_text SET tags = :t WHERE asset_id = :a"),
        {"t": tokens(" ".join(tag_names)), "a": asset_id},
    )


def set_fields(s: Session, docs: dict[str, dict[str, str]]) -> None:
    """Replace some fields of many assets' rows (edited title, description, keywords, tags),
    the content left as it is; an asset without a row gets one."""
    missing = set(docs) - set(
        s.execute(
            text("SELECT asset_id FROM asset_text WHERE asset_id = ANY(:ids)"),
            {"ids": list(docs)},
        ).scalars()
    )
    by_fields: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for asset_id, doc in docs.items():
        if asset_id in missing:
            upsert(s, asset_id, dict(doc))
            continue
        values = {f: tokens(v[:_MAX_CONTENT]) for f, v in doc.items() if f in FIELDS}
        by_fields.setdefault(tuple(sorted(values)), []).append({"a": asset_id, **values})
    for fields, params in by_fields.items():
        if fields:
            assignments = ", ".join(f"{f} = :{f}" for f in fields)
            s.execute(text(f"UPDATE asset_text SET {assignments} WHERE asset_id = :a"), params)


def delete(s: Session, asset_id: str) -> None:
    s.execute(text("DELETE FROM asset_text WHERE asset_id = :a"), {"a": asset_id})


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class _Term:
    """One operand of a query: a word (a prefix from three letters on) or a CJK phrase."""

    lexemes: tuple[str, ...]
    prefix: bool = False

    @property
    def cjk(self) -> bool:
        return bool(_CJK.match(self.lexemes[0]))

    def expr(self) -> str:
        if self.prefix:
            return _quote(self.lexemes[0]) + ":*"
        if len(self.lexemes) == 1:
            return _quote(self.lexemes[0])
        return "(" + " <-> ".join(_quote(c) for c in self.lexemes) + ")"


def _terms(query: str, *, any_term: bool) -> list[_Term]:
    out: dict[_Term, None] = {}
    for term in terms(query):
        if not _CJK.match(term):
            out[_Term((term,), prefix=len(term) >= 3)] = None
        elif not any_term or len(term) <= 2:
            out[_Term(tuple(term))] = None
        else:
            out.update((_Term(tuple(term[i : i + 2])), None) for i in range(len(term) - 1))
    return list(out)


def to_tsquery_text(query: str, *, any_term: bool = False) -> str | None:
    """A to_tsquery('simple', ...) expression built only from quoted lexemes.

    All terms must match (each CJK run as a phrase), as store.fts. With `any_term`, any may
    match, and CJK runs longer than two characters are split into overlapping two-character
    phrases: a Chinese sentence is one run, so as one phrase it would almost never match.
    User text only ever appears inside quotes, so operators in it are just text.
    """
    parts = _terms(query, any_term=any_term)
    if not parts:
        return None
    return (" | " if any_term else " & ").join(t.expr() for t in parts)


def search(s: Session, query: str, limit: int) -> list[KeywordHit]:
    """Best first. Falls back to any-term matching when all-terms finds nothing.

    The any-term ranking weights each word by its IDF (from the planner's statistics of
    asset_text.document): without it 'a', 'the' and 'in' decide the order of a long English
    query. CJK queries keep ts_rank's own any-term formula: their overlapping two-character
    phrases share characters, and weighting them one by one ranked worse (bench/pg_keywords.py).
    """
    expr = to_tsquery_text(query)
    if expr is None:
        return []
    hits = _run(s, expr, limit)
    if hits:
        return hits
    parts = _terms(query, any_term=True)
    fallback = " | ".join(t.expr() for t in parts)
    if fallback == expr:
        return []
    weights = None if any(t.cjk for t in parts) else _idf(s, parts)
    weighted = list(zip(parts, weights, strict=True)) if weights else None
    return [replace(h, partial=True) for h in _run(s, fallback, limit, weighted)]


# --- IDF from the planner's statistics -----------------------------------------------------------

_STATS_TTL_S = 60.0
_stats_cache: dict[str, tuple[float, _Stats | None]] = {}


@dataclass(frozen=True, slots=True)
class _Stats:
    rows: float
    share: dict[str, float]  # lexeme -> share of documents holding it (the most common ones)
    floor: float  # share of any other lexeme is below this


def _stats(s: Session) -> _Stats | None:
    """ANALYZE's most common lexemes of asset_text.document, cached for a minute."""
    key = s.get_bind().url.render_as_string(hide_password=True)
    now = time.monotonic()
    cached = _stats_cache.get(key)
    if cached and now - cached[0] < _STATS_TTL_S:
        return cached[1]
    row = s.execute(
        text(
            "SELECT c.reltuples, p.most_common_elems::text::text[], p.most_common_elem_freqs "
            "FROM pg_class c LEFT JOIN pg_stats p ON p.schemaname = c.relnamespace::regnamespace"
            "::text AND p.tablename = 'asset_text' AND p.attname = 'document' "
            "WHERE c.oid = to_regclass('asset_text')"
        )
    ).first()
    stats = None
    if row and row[1] and row[2] and row[0] > 0:
        elems, freqs = list(row[1]), list(row[2])
        # The frequencies end with three more figures: the minimum, the maximum, nulls.
        stats = _Stats(float(row[0]), dict(zip(elems, freqs, strict=False)), freqs[len(elems)])
    if len(_stats_cache) > 64:
        _stats_cache.clear()
    _stats_cache[key] = (now, stats)
    return stats


def _idf(s: Session, parts: list[_Term]) -> list[float] | None:
    stats = _stats(s)
    if stats is None or len(parts) < 2:
        return None
    smoothing = 0.5 / max(stats.rows, 1.0)
    weights = []
    for term in parts:
        word = term.lexemes[0]
        if term.prefix:
            share = sum(f for lex, f in stats.share.items() if lex.startswith(word))
        else:
            share = min(stats.share.get(lex, 0.0) for lex in term.lexemes)
        share = min(max(share, stats.floor), 1.0)
        weights.append(math.log(1 + (1 - share + smoothing) / (share + smoothing)))
    return weights


# --- running a query -----------------------------------------------------------------------------

# Which fields matched, for the top rows only. Title, keywords and content are the only fields
# of their weight, so the document's own positions answer for them; the three short C fields
# are parsed again.
_FIELD_MATCHES = ", ".join(
    f"ts_filter(t.document, '{{{_WEIGHT_OF[f].lower()}}}') @@ q.q"
    if _WEIGHT_OF[f] in "ABD"
    else f"to_tsvector('simple', t.{f}) @@ q.q"
    for f in FIELDS
)
_RANK = "ts_rank('{w}', t.document, {q}, {n})"


def _run(
    s: Session, expr: str, limit: int, weighted: list[tuple[_Term, float]] | None = None
) -> list[KeywordHit]:
    params: dict[str, object] = {"q": expr, "n": limit}
    if weighted:
        rank = " + ".join(
            f":w{i} * " + _RANK.format(w=RANK_WEIGHTS, q=f"to_tsquery('simple', :t{i})", n=1)
            for i in range(len(weighted))
        )
        for i, (term, weight) in enumerate(weighted):
            params[f"t{i}"], params[f"w{i}"] = term.expr(), weight
    else:
        rank = _RANK.format(w=RANK_WEIGHTS, q="q.q", n=RANK_NORMALIZATION)
    rows = s.execute(
        text(
            "WITH q AS (SELECT to_tsquery('simple', :q) AS q), "
            f"best AS (SELECT t.asset_id, {rank} AS rank FROM asset_text t, q "
            "WHERE t.document @@ q.q ORDER BY rank DESC, t.asset_id LIMIT :n) "
            f"SELECT best.asset_id, best.rank, {_FIELD_MATCHES} "
            "FROM best JOIN asset_text t USING (asset_id), q "
            "ORDER BY best.rank DESC, best.asset_id"
        ),
        params,
    ).all()
    return [
        KeywordHit(
            row[0], -float(row[1]), tuple(f for f, m in zip(FIELDS, row[2:], strict=True) if m)
        )
        for row in rows
    ]
