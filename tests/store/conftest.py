"""A migrated catalog on each backend: the store tests run once on SQLite, once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.store.catalog import SqlCatalog
from assetloom.store.db import sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlCatalog]:
    if request.param == "sqlite":
        store = SqlCatalog(sqlite_url(tmp_path / "catalog.db"), busy_timeout_s=5)
        store.migrate()
        yield store
        store.close()
        return
    from tests.backends.pg_database import fresh_database

    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        store = SqlCatalog(url, busy_timeout_s=5)
        store.migrate()
        yield store
        store.close()
