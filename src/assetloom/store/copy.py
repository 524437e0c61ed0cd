"""The database side of `assetloom migrate`: an embedded catalog's rows, ids and all, copied
into a PostgreSQL one, and the marker row that says which library a target database holds.

`app/migrate.py` orders the steps, copies the files and talks to the user; every query it
needs is here. The copy is generic: every model table in dependency order, so a table added
by a later revision is copied without an edit (and a table this version does not know is
reported, not left behind).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, DateTime, Table, delete, insert, select, text

from assetloom.store import fts
from assetloom.store.catalog import SqlCatalog, SqlUnitOfWork
from assetloom.store.jobs import RUNNING
from assetloom.store.ledger import SqlLogStore
from assetloom.store.schema import AssetRow, Base, JobRow

NOT_COPIED = frozenset({"pending_blobs", "jobs"})
"""pending_blobs must be empty (migrate refuses otherwise); jobs are this machine's add
history, whose leases and process ids mean nothing on the servers (the target's jobs table
holds the migration's own row)."""
_SQLITE_OWN = ("sqlite_", "asset_text", "alembic_version")
"""Tables of catalog.db that are not models: SQLite's own, the FTS5 table and its shadow tables
(copied by hand), Alembic's revision (the target has its own)."""
_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class Marker:
    """A migration's row in the target's `jobs` table."""

    id: int
    state: str
    finished_at: datetime | None


def originals(catalog: SqlCatalog) -> dict[str, str]:
    """sha256 -> asset id of every asset (one read transaction)."""
    with catalog.read_session() as s:
        return _originals(s.connection())


def ledger_head(catalog: SqlCatalog) -> tuple[int, bytes]:
    """The ledger's (tree size, root): what a copy must reproduce."""
    with catalog.read_session() as s:
        return SqlLogStore().head(s)


class LockedCatalog:
    """The catalog being copied, inside a transaction that holds its write lock."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._src = uow.session.connection()

    def pending(self) -> int:
        """Blobs written by an add whose rows never committed."""
        return len(self._uow.pending())

    def originals(self) -> dict[str, str]:
        """sha256 -> asset id of every asset."""
        return _originals(self._src)

    def unknown_tables(self) -> list[str]:
        """Tables of catalog.db that this version has no model of (a copy would lose them)."""
        names = self._src.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table'")
        ).scalars()
        return sorted(
            n for n in names if not n.startswith(_SQLITE_OWN) and n not in Base.metadata.tables
        )

    def copy_into(self, target: SqlCatalog) -> tuple[int, bytes]:
        """Every model table (but NOT_COPIED) into `target`, replacing whatever an earlier run
        copied, in one transaction: rows with their ids, sequences moved past them, keyword
        rows re-tokenised for the target. The copied ledger's (size, root) back."""
        tables = [t for t in Base.metadata.sorted_tables if t.name not in NOT_COPIED]
        with target.unit_of_work() as uow:
            dst = uow.session.connection()
            dst.execute(text("DELETE FROM asset_text"))
            for table in reversed(tables):
                dst.execute(delete(table))
            for table in tables:
                _copy_rows(self._src, dst, table)
            for asset_id, *values in self._src.execute(
                text(f"SELECT asset_id, {', '.join(fts.FIELDS)} FROM asset_text")
            ):
                doc = {f: fts.unsegment(v or "") for f, v in zip(fts.FIELDS, values, strict=True)}
                uow.upsert_keywords(asset_id, doc)
            for table in tables:
                column = table.autoincrement_column
                if column is not None:  # the next id goes past the copied ones
                    dst.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence(:t, :c), "
                            f'COALESCE(MAX("{column.name}"), 0) + 1, false) FROM "{table.name}"'
                        ),
                        {"t": table.name, "c": column.name},
                    )
            return SqlLogStore().head(uow.session)


@contextmanager
def write_locked(catalog: SqlCatalog) -> Iterator[LockedCatalog]:
    """`catalog` under its write lock from now until the block ends (SQLite: BEGIN IMMEDIATE,
    taken by a first statement at once): no add, rm or tag change commits meanwhile."""
    with catalog.unit_of_work() as uow:
        uow.session.connection().exec_driver_sql("SELECT 1")
        yield LockedCatalog(uow)


def marker(target: SqlCatalog, key: str) -> Marker | None:
    with target.read_session() as s:
        row = s.scalars(select(JobRow).where(JobRow.key == key)).first()
        return Marker(row.id, row.state, row.finished_at) if row is not None else None


def rerun_marker(target: SqlCatalog, key: str, host: str, pid: int) -> int:
    """An earlier run's marker, running again under (host, pid); its id. Its lease is over
    at once: nothing renews it, and only its done mark is ever read."""
    with target.write_session() as s, s.begin():
        row = s.scalars(select(JobRow).where(JobRow.key == key)).one()
        row.state, row.owner_host, row.owner_pid = RUNNING, host, pid
        row.heartbeat_at = row.lease_until = datetime.now(UTC)
        row.finished_at = None
        return row.id


def _originals(conn: Connection) -> dict[str, str]:
    return {sha: a for sha, a in conn.execute(select(AssetRow.sha256, AssetRow.asset_id))}


def _copy_rows(src: Connection, dst: Connection, table: Table) -> None:
    stamps = [c.name for c in table.columns if isinstance(c.type, DateTime)]
    rows = src.execute(
        select(table).order_by(*table.primary_key.columns).execution_options(yield_per=_BATCH)
    )
    for part in rows.partitions():
        values = [dict(r._mapping) for r in part]
        for v in values:  # SQLite keeps UTC wall time: say so, whatever the session's zone
            for name in stamps:
                moment = v[name]
                if moment is not None and moment.tzinfo is None:
                    v[name] = moment.replace(tzinfo=UTC)
        dst.execute(insert(table), values)
