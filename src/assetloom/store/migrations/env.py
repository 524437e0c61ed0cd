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
    """FTS5 tables (asset_text and its shadow tables) are managed by hand in migrations."""
    return not (type_ == "table" and name is not None and name.startswith("asset_text"))


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
