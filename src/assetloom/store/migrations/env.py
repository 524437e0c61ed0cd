"""Alembic environment: runs against the engine handed in by `store.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from assetloom.store import schema

config = context.config
target_metadata = schema.Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url") or ""
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
