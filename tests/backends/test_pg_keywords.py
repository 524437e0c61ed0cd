"""Keyword search on PostgreSQL (store.fts_postgres) against SQLite's (store.fts) behaviour."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from assetloom.store import fts, fts_postgres
from assetloom.store.db import make_engine, migrate
from tests.backends.pg_database import fresh_database

DOCS: dict[str, dict[str, str]] = {
    "brief": {
        "name": "brief md",
        "title": "春季新品发布",
        "content": "蓝色调的科技感产品图，用于电商主图。Blue tech product shots.",
    },
    "minutes": {
        "name": "minutes txt",
        "content": "Harbour photo shoot moved to Friday because of rain.",
    },
    "cafe": {"name": "cafe jpg", "title": "Café au lait", "keywords": "résumé breakfast"},
    "photos": {"name": "photos", "description": "Photos of the harbour at night"},
    "mixed": {"name": "mixed", "content": "abc中文 release notes 2026"},
}

# (query, what SQLite's FTS5 search finds): all words must match, 3+ letters as a prefix, no
# stemming, diacritics ignored, CJK runs as phrases.
SAME_AS_SQLITE = [
    ("科技感", {"brief"}),
    ("科技感产品图", {"brief"}),
    ("产品 科技", {"brief"}),
    ("春季", {"brief"}),
    ("harb", {"minutes", "photos"}),
    ("harbour rain", {"minutes"}),
    ("photo", {"minutes", "photos"}),
    ("photos", {"photos"}),
    ("Photos harbour", {"photos"}),
    ("cafe", {"cafe"}),
    ("CAFÉ", {"cafe"}),
    ("resume", {"cafe"}),
    ("中文", {"mixed"}),
    ("2026", {"mixed"}),
    ("nothing here", set()),
]


@pytest.fixture(scope="module")
def pg(postgres_url: str) -> Iterator[sa.Engine]:
    with fresh_database(postgres_url) as url:
        engine = make_engine(url, writer=True)
        try:
            migrate(engine)
            with Session(engine) as s, s.begin():
                for asset_id, doc in DOCS.items():
                    fts_postgres.upsert(s, asset_id, doc)
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def lite() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite+pysqlite:///:memory:")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE asset_text USING fts5(asset_id UNINDEXED, name, title, "
            "description, keywords, tags, content, tokenize='unicode61 remove_diacritics 2')"
        )
    with Session(engine) as s, s.begin():
        for asset_id, doc in DOCS.items():
            fts.upsert(s, asset_id, doc)
    yield engine
    engine.dispose()


def found(engine: sa.Engine, module: object, query: str) -> list[fts.KeywordHit]:
    with Session(engine) as s:
        return module.search(s, query, 10)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("query", "expected"), SAME_AS_SQLITE)
def test_matches_like_sqlite(
    pg: sa.Engine, lite: sa.Engine, query: str, expected: set[str]
) -> None:
    assert {h.asset_id for h in found(lite, fts, query)} == expected  # the reference
    assert {h.asset_id for h in found(pg, fts_postgres, query)} == expected


def test_chinese_substring_names_the_field(pg: sa.Engine) -> None:
    hits = found(pg, fts_postgres, "科技感")
    assert [h.asset_id for h in hits] == ["brief"]
    assert hits[0].fields == ("content",)
    assert found(pg, fts_postgres, "新品")[0].fields == ("title",)


def test_a_chinese_sentence_falls_back_to_its_two_character_phrases(pg: sa.Engine) -> None:
    """As one phrase nothing matches; SQLite then finds nothing, PostgreSQL the best overlap."""
    hits = found(pg, fts_postgres, "科技感的新品海报")
    assert [h.asset_id for h in hits] == ["brief"]
    assert set(hits[0].fields) == {"title", "content"}


def test_any_word_when_not_all_match(pg: sa.Engine, lite: sa.Engine) -> None:
    for engine, module in ((pg, fts_postgres), (lite, fts)):
        hits = found(engine, module, "harbour breakfast")
        assert {h.asset_id for h in hits} == {"minutes", "photos", "cafe"}


@pytest.mark.parametrize(
    "query", ["a' OR 1=1 --", "&|!():*", "'; DROP TABLE asset_text; --", "\\", "<-> !x :*A"]
)
def test_operators_in_queries_are_just_text(pg: sa.Engine, query: str) -> None:
    assert found(pg, fts_postgres, query) == []
    assert len(found(pg, fts_postgres, "harbour")) == 2  # the table is still there


def test_operator_characters_in_documents_are_just_text(pg: sa.Engine) -> None:
    with Session(pg) as s, s.begin():
        fts_postgres.upsert(s, "ops", {"content": "it's a' OR 1=1 -- &|!():* x<->y"})
    try:
        hits = found(pg, fts_postgres, "a' OR 1=1 --")
        assert [h.asset_id for h in hits] == ["ops"]
    finally:
        with Session(pg) as s, s.begin():
            fts_postgres.delete(s, "ops")


def test_a_title_hit_ranks_above_a_content_hit(pg: sa.Engine) -> None:
    with Session(pg) as s, s.begin():
        fts_postgres.upsert(s, "w-content", {"content": "a lighthouse on the cliff at dawn"})
        fts_postgres.upsert(s, "w-title", {"title": "Lighthouse"})
        fts_postgres.upsert(s, "w-keywords", {"keywords": "lighthouse coast"})
        fts_postgres.upsert(s, "w-灯塔-content", {"content": "海边的灯塔"})
        fts_postgres.upsert(s, "w-灯塔-title", {"title": "灯塔"})
    try:
        hits = found(pg, fts_postgres, "lighthouse")
        assert [h.asset_id for h in hits] == ["w-title", "w-keywords", "w-content"]
        assert [h.fields for h in hits] == [("title",), ("keywords",), ("content",)]
        assert hits[0].bm25 < hits[1].bm25 < hits[2].bm25 < 0  # lower is better, as bm25()
        assert [h.asset_id for h in found(pg, fts_postgres, "灯塔")] == [
            "w-灯塔-title",
            "w-灯塔-content",
        ]
    finally:
        with Session(pg) as s, s.begin():
            for asset_id in (
                "w-content",
                "w-title",
                "w-keywords",
                "w-灯塔-content",
                "w-灯塔-title",
            ):
                fts_postgres.delete(s, asset_id)


def test_upsert_replaces_set_tags_refreshes_and_delete_removes(pg: sa.Engine) -> None:
    with Session(pg) as s, s.begin():
        fts_postgres.upsert(s, "tmp", {"title": "first version"})
        fts_postgres.upsert(s, "tmp", {"title": "second version"})
    assert found(pg, fts_postgres, "first") == []
    assert [h.asset_id for h in found(pg, fts_postgres, "second")] == ["tmp"]
    with Session(pg) as s, s.begin():
        fts_postgres.set_tags(s, "tmp", ["Sunset", "日落"])
    assert found(pg, fts_postgres, "日落")[0].fields == ("tags",)
    with Session(pg) as s, s.begin():
        fts_postgres.delete(s, "tmp")
    assert found(pg, fts_postgres, "second") == []


def test_the_index_serves_the_search(pg: sa.Engine) -> None:
    expr = fts_postgres.to_tsquery_text("harbour")
    with pg.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")  # five rows: make the choice visible
        plan = conn.execute(
            sa.text(
                "EXPLAIN SELECT asset_id FROM asset_text WHERE document @@ to_tsquery('simple', :q)"
            ),
            {"q": expr},
        ).scalars()
        assert "ix_asset_text_document" in "\n".join(plan)


def test_tokens_do_not_depend_on_the_database_locale() -> None:
    assert fts_postgres.tokens("Café-Crème, 科技感! abc中文") == "cafe creme 科 技 感 abc 中 文"
    assert fts_postgres.to_tsquery_text("a' OR 1=1 --") == "'a' & 'or' & '1'"
    assert fts_postgres.to_tsquery_text("&|!():*") is None
