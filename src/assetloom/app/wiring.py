"""The one composition root: the adapters a library's use cases work through.

`Library` builds `Ports` once per open library and hands them to the use cases, which never
reach back into `Library` (the add of one file walks discover -> prepare -> commit through
these ports alone).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assetloom.blobs.base import BlobStore
from assetloom.blobs.local import LocalBlobStore
from assetloom.errors import BadInputError
from assetloom.index.live import LiveIndexes
from assetloom.processes import alive
from assetloom.settings import Settings
from assetloom.store.catalog import SqlCatalog
from assetloom.store.db import sqlite_url
from assetloom.store.jobs import Job, SqlJobQueue

if TYPE_CHECKING:
    from assetloom.ingest.runners import Executor
    from assetloom.tagging import Tagger

CATALOG = "catalog.db"
THUMBNAIL = "thumb.webp"


@dataclass(slots=True)
class IngestGuard:
    """Each `add` runs as a leased job; before it starts, what dead adds left (blobs written
    before their rows committed, on any host sharing the catalog) is swept."""

    catalog: SqlCatalog
    blobs: BlobStore
    derived: BlobStore
    jobs: SqlJobQueue
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: int = 0

    @contextmanager
    def ingesting(self) -> Iterator[Job]:
        with self._lock:
            self.sweep(include_own=self._running == 0)
            self._running += 1
        try:
            with self.jobs.leased("ingest", f"ingest-{uuid.uuid4().hex}") as job:
                yield job
        finally:
            with self._lock:
                self._running -= 1

    def sweep(self, *, include_own: bool = True) -> int:
        """Remove blobs whose job is dead and that no asset claims. Rows from before jobs
        name only a process: those of this process go only with `include_own` (no add of
        ours is running), others when that process is gone.

        Decided under the catalog's write lock, on rows read there: an add that took a row
        over (the same file added again) or registered the file meanwhile is seen, and a row
        is dropped only if it still names what was judged dead.
        """
        if not self.catalog.pending():
            return 0  # the common case, without taking the write lock
        me = os.getpid()
        swept = 0
        with self.catalog.unit_of_work() as uow:
            pending = uow.pending()
            dead_jobs = self.jobs.dead_ids(sorted({p.job_id for p in pending if p.job_id}))
            dead = [
                p
                for p in pending
                if (
                    p.job_id in dead_jobs
                    if p.job_id is not None
                    else (include_own if p.owner_pid == me else not alive(p.owner_pid))
                )
            ]
            claimed = uow.registered(p.sha256 for p in dead)
            for p in dead:
                if p.sha256 not in claimed:
                    self.blobs.delete(p.sha256)
                    self.derived.delete_prefix(f"{p.sha256}/")
                    swept += 1
                uow.drop_pending(p.sha256)
        self.jobs.settle(sorted(dead_jobs))
        return swept


@dataclass(slots=True)
class Ports:
    """The adapters of one open library (see `build_ports`)."""

    settings: Settings
    catalog: SqlCatalog
    blobs: BlobStore
    """Originals, keyed by SHA-256."""
    derived: BlobStore
    """Thumbnails and other derived files, keyed '<sha256>/<name>'."""
    indexes: LiveIndexes
    tagger: Callable[[], Tagger]
    guard: IngestGuard

    def executor(self) -> Executor:
        """Where per-file work runs, from the `executor` and `workers` settings."""
        from assetloom.ingest.runners import executor_for  # loads the extractors

        return executor_for(self.settings.executor, self.settings.worker_count)


def build_ports(root: Path, settings: Settings, tagger: Callable[[], Tagger]) -> Ports:
    """The embedded default (SQLite catalog, blobs in the folder, FAISS indexes) unless the
    settings name a PostgreSQL catalog (vectors then live in pgvector) or an S3 blob store
    (originals under <prefix>/blobs/, derived files under <prefix>/derived/)."""
    url = catalog_url(settings.catalog) if settings.catalog else sqlite_url(root / CATALOG)
    catalog = SqlCatalog(url, busy_timeout_s=settings.busy_timeout_s, label=str(root))
    if settings.blobs:
        from assetloom.blobs.s3 import S3BlobStore

        base = settings.blobs.rstrip("/")
        blobs: BlobStore = S3BlobStore.from_url(f"{base}/blobs")
        derived: BlobStore = S3BlobStore.from_url(f"{base}/derived", fan_out=False)
    else:
        blobs = LocalBlobStore(root / "blobs")
        derived = LocalBlobStore(root / "derived", fan_out=False)
    vectors = None
    if catalog.dialect == "postgresql":
        from assetloom.index.pgvector import PgVectorIndex

        vectors = PgVectorIndex(catalog.reader)
    return Ports(
        settings=settings,
        catalog=catalog,
        blobs=blobs,
        derived=derived,
        indexes=LiveIndexes(root / "index", catalog, vectors=vectors),
        tagger=tagger,
        guard=IngestGuard(catalog, blobs, derived, SqlJobQueue(catalog)),
    )


def catalog_url(url: str) -> str:
    """A user's PostgreSQL URL as SQLAlchemy takes it (psycopg 3), checked: no password in it
    (it would be written to assetloom.toml; libpq reads PGPASSWORD or ~/.pgpass instead)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise BadInputError(
            f"catalog URL {url!r} is not a database URL",
            hint="use postgresql://USER@HOST:PORT/DATABASE",
        ) from exc
    if parsed.get_backend_name() != "postgresql":
        raise BadInputError(
            f"catalog URL {url!r} is not PostgreSQL",
            hint="use postgresql://USER@HOST:PORT/DATABASE (or no --catalog for catalog.db)",
        )
    if parsed.password:
        raise BadInputError(
            "the catalog URL holds a password, which would be stored in assetloom.toml",
            hint="leave it out of the URL and set PGPASSWORD or a ~/.pgpass entry instead",
        )
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
