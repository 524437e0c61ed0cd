"""Alembic environment: runs against the engine handed in by `store.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from assetloom.store import schema

config = context.config
target_metadata = schema.Base.metadata


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Objects managed by hand, not by the models, that autogenerate must not drop.

    asset_text: SQLite's FTS5 table and its shadow tables, or PostgreSQL's keyword table and
    its index (0003). On PostgreSQL, embeddings.embedding (0006) and its per-space HNSW
    indexes (made by index.pgvector), and the change counter row (0008).
    """
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(("asset_text", "assetloom_changes"))
    if type_ == "index":
        return not name.startswith(("ix_asset_text_", "ix_embeddings_hnsw_"))
    if type_ == "column" and reflected and compare_to is None:
        return not (
            name == "embedding"
            and getattr(obj, "table", None) is not None
            and obj.table.name == "embeddings"
        )  # type: ignore[attr-defined]
    return True


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url") or ""
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_object=_include,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
