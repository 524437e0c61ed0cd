"""The Alembic migrations on PostgreSQL: head, the models' schema, and what differs on purpose."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pgvector.sqlalchemy  # noqa: F401  (reflection then knows the `vector` type)
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import OperationalError

from assetloom.store.db import (
    HEAD_REVISION,
    alembic_config,
    current_revision,
    make_engine,
    migrate,
)
from assetloom.store.schema import AssetRow, Base
from tests.backends.pg_database import fresh_database

# What PostgreSQL has beyond the models, on purpose (docs in the migrations):
# - asset_text and its GIN index: the keyword table, raw SQL (0003) like SQLite's FTS5 table;
# - assetloom_changes: the change counter row statement triggers increment (0008);
# - embeddings.embedding: the pgvector column (0006), filled by a trigger from `vector`
#   (its per-space HNSW indexes come later, from index.pgvector, and would be listed too).
DOCUMENTED = {
    ("remove_table", "asset_text"),
    ("remove_index", "ix_asset_text_document"),
    ("remove_column", "embeddings.embedding"),
    ("remove_table", "assetloom_changes"),
}


def _key(diff: tuple) -> tuple[str, str]:
    kind = diff[0]
    if kind == "remove_table":
        return kind, diff[1].name
    if kind == "remove_column":
        return kind, f"{diff[2]}.{diff[3].name}"
    if kind == "remove_index":
        return kind, diff[1].name
    return kind, repr(diff[1:])


@pytest.fixture
def engine(postgres_url: str) -> Iterator[sa.Engine]:
    with fresh_database(postgres_url) as url:
        engine = make_engine(url, writer=True)
        try:
            yield engine
        finally:
            engine.dispose()


def test_migrates_to_head_and_matches_the_models(engine: sa.Engine) -> None:
    migrate(engine)
    script = ScriptDirectory.from_config(alembic_config(engine))
    assert script.get_current_head() == HEAD_REVISION
    assert current_revision(engine) == HEAD_REVISION
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == HEAD_REVISION
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert {_key(d) for d in diff} == DOCUMENTED, diff


def test_types_on_postgresql(engine: sa.Engine) -> None:
    migrate(engine)
    with engine.connect() as conn:
        types = dict(
            conn.execute(
                sa.text(
                    "SELECT table_name || '.' || column_name, data_type "
                    "FROM information_schema.columns WHERE table_schema = current_schema()"
                )
            ).all()
        )
    assert types["assets.registered_at"] == "timestamp with time zone"
    assert types["assets.metadata_json"] == "json"  # the models say JSON: see the report
    assert types["fingerprints.value"] == "bytea"
    assert types["ledger_leaves.idx"] == "bigint"
    assert types["asset_text.document"] == "tsvector"
    assert types["embeddings.embedding"] == "USER-DEFINED"  # pgvector's `vector`


def test_downgrade_to_base_and_up_again(engine: sa.Engine) -> None:
    migrate(engine)
    command.downgrade(alembic_config(engine), "base")
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert tables <= {"alembic_version"}
    migrate(engine)
    assert current_revision(engine) == HEAD_REVISION


def test_timestamps_come_back_aware_in_utc(engine: sa.Engine) -> None:
    migrate(engine)
    when = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    with sa.orm.Session(engine) as s, s.begin():
        s.add(
            AssetRow(
                asset_id="a" * 32,
                sha256="0" * 64,
                media_type="image",
                mime="image/jpeg",
                size=1,
                original_name="x.jpg",
                metadata_json={"k": ["v", 1]},
                has_thumbnail=False,
                registered_at=when,
            )
        )
    with sa.orm.Session(engine) as s:
        row = s.get(AssetRow, "a" * 32)
        assert row is not None
        assert row.registered_at == when and row.registered_at.utcoffset().total_seconds() == 0
        assert row.metadata_json == {"k": ["v", 1]}


def test_float32_bytes_become_the_same_vector(engine: sa.Engine) -> None:
    """Migration 0006's SQL conversion is exact, and refuses what a vector cannot hold."""
    migrate(engine)
    rng = np.random.default_rng(7)
    values = rng.standard_normal(64).astype(np.float32)
    values[:5] = [0.0, 1e-40, -3.4e38, 1.17549435e-38, -1.5]  # zero, subnormal, extremes
    with engine.connect() as conn:
        got = conn.execute(
            sa.text("SELECT assetloom_f32le_to_vector(:b)::text"), {"b": values.tobytes()}
        ).scalar_one()
        assert np.array_equal(np.array(got.strip("[]").split(","), dtype=np.float32), values)
        bad = [np.float32([1.0, np.nan]).tobytes(), np.float32([np.inf]).tobytes(), b"", b"abc"]
        for raw in bad:
            assert (
                conn.execute(
                    sa.text("SELECT assetloom_f32le_to_vector(:b)"), {"b": raw}
                ).scalar_one()
                is None
            )


def test_writers_take_turns_and_readers_do_not_wait(postgres_url: str) -> None:
    """The PostgreSQL writer engine keeps SQLite's one-writer rule (BEGIN IMMEDIATE)."""
    with fresh_database(postgres_url) as url:
        first = make_engine(url, writer=True)
        second = make_engine(url, writer=True, busy_timeout_s=0.3)
        reader = make_engine(url)
        try:
            migrate(first)
            with first.connect() as held:
                held.execute(sa.text("SELECT 1"))  # begins: holds the writer lock
                with second.connect() as other, pytest.raises(OperationalError):
                    other.execute(sa.text("SELECT 1"))
                with reader.connect() as conn:
                    assert conn.execute(sa.text("SELECT count(*) FROM assets")).scalar() == 0
                released = threading.Event()

                def wait_for_lock() -> None:
                    with make_engine(url, writer=True).connect() as conn:
                        conn.execute(sa.text("SELECT 1"))
                        released.set()

                waiter = threading.Thread(target=wait_for_lock)
                waiter.start()
                assert not released.wait(0.5)
                held.rollback()
                waiter.join(10)
                assert released.is_set()
        finally:
            for engine in (first, second, reader):
                engine.dispose()
