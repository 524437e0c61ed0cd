"""PostgreSQL: a change counter a long-running process polls (nothing on SQLite)

SQLite's `PRAGMA data_version` tells a server cheaply that another connection committed; on
PostgreSQL a one-row counter that statement-level triggers on the tables the in-memory indexes
and the tagger are built from increment does the same: reading it costs one round trip, where
recomputing every index's catalog figures each second costs several queries. The counter is
an ordinary row, so others see it move only when the writing transaction commits (a sequence
moves at once, and a poller that caught it before the commit would catch up to nothing and
then never look again). Writers already take one lock in turn, so the row adds no contention.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:25:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("assets", "fingerprints", "embeddings", "tags", "tag_definitions")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE assetloom_changes (id integer PRIMARY KEY, n bigint NOT NULL)")
    op.execute("INSERT INTO assetloom_changes VALUES (1, 0)")
    op.execute(
        "CREATE FUNCTION assetloom_note_change() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN UPDATE assetloom_changes SET n = n + 1 WHERE id = 1; RETURN NULL; END $$"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_note_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION assetloom_note_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_note_change ON {table}")
    op.execute("DROP FUNCTION IF EXISTS assetloom_note_change()")
    op.execute("DROP TABLE IF EXISTS assetloom_changes")
