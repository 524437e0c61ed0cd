"""Engine set-up for the catalog: SQLite in WAL mode with immediate write transactions, or
PostgreSQL with the same one-writer-at-a-time rule (see `make_engine`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HEAD_REVISION = "0016"
"""The newest migration (tests/test_migrations.py holds it to Alembic's own head): a catalog
already there needs no Alembic at all, which keeps every CLI command's start fast."""


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


# pg_advisory_xact_lock key of the catalog's write lock (any constant; this one spells "alwriter").
PG_WRITER_LOCK = 0x616C_7772_6974_6572


def make_engine(url: str, *, busy_timeout_s: float = 30.0, writer: bool = False) -> Engine:
    """An engine whose SQLite connections use WAL and foreign keys.

    A `writer` engine starts every transaction with BEGIN IMMEDIATE, taking the write lock up
    front, so two writers queue on the busy timeout instead of failing half-way with
    "database is locked" when a read transaction tries to upgrade.
    """
    if url.startswith("postgresql"):
        return _postgres_engine(url, busy_timeout_s=busy_timeout_s, writer=writer)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event emit BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def _postgres_engine(url: str, *, busy_timeout_s: float, writer: bool) -> Engine:
    """PostgreSQL with SQLite's transaction semantics, which the catalog code relies on.

    - A writer transaction first takes one transaction-scoped advisory lock, so writers run one
      at a time as under BEGIN IMMEDIATE (pending-blob sweeps, ledger appends and migrations
      assume that); it stays READ COMMITTED, so each statement sees what the previous writer
      committed while this one waited.
    - Readers are REPEATABLE READ: one snapshot per transaction, as a SQLite read transaction.
    - `lock_timeout` is the busy timeout; sessions are in UTC, so timestamps read back aware.
    """
    engine = create_engine(
        url,
        pool_pre_ping=True,
        isolation_level="READ COMMITTED" if writer else "REPEATABLE READ",
        connect_args={
            "options": f"-c lock_timeout={int(busy_timeout_s * 1000)} -c timezone=UTC",
        },
    )
    if writer:

        @event.listens_for(engine, "begin")
        def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITER_LOCK})")

    return engine


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the catalog schema to the newest revision (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def current_revision(engine: Engine) -> str | None:
    """The catalog's migration revision; None before the first migration."""
    with engine.connect() as conn:
        try:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except DBAPIError:
            return None


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == HEAD_REVISION


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
