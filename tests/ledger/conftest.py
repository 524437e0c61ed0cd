"""Shared fixtures for the ledger tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from assetloom.store.db import make_engine, migrate, session_factory, sqlite_url


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sqlite_url(tmp_path / "catalog.db"))
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()
