"""Shared fixtures for the ledger tests: a migrated SQLite catalog and a keyed ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from assetloom.provenance import leaves
from assetloom.provenance.ledger_service import LedgerService
from assetloom.store.db import make_engine, migrate, session_factory, sqlite_url

ORIGIN = "assetloom.test/ledger"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _register(i: int) -> bytes:
    """A registration leaf for synthetic asset number i."""
    return leaves.register_leaf(
        asset_id=f"asset{i:04d}",
        sha256=f"{i:064x}",
        perceptual_hashes={"pdq": f"{i:064x}", "phash": f"{i:016x}"},
        media_type="image",
        size=1000 + i,
        registered_at=T0 + timedelta(seconds=i),
    )


@pytest.fixture
def register() -> Callable[[int], bytes]:
    """Makes the registration leaf of synthetic asset number i."""
    return _register


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sqlite_url(tmp_path / "catalog.db"))
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def service(tmp_path: Path, sessions: sessionmaker[Session]) -> LedgerService:
    LedgerService.create_key(tmp_path / "keys", ORIGIN)
    return LedgerService(sessions, tmp_path / "keys", ORIGIN)


@pytest.fixture
def filled(service: LedgerService) -> LedgerService:
    """A ledger of 37 registrations, appended in three transactions."""
    for lo, hi in [(0, 1), (1, 20), (20, 37)]:
        with service._sessions.begin() as s:
            service.store.append_many(s, [_register(i) for i in range(lo, hi)])
    return service
