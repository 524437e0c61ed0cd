"""The one composition root: the adapters a library's use cases work through.

`Library` builds `Ports` once per open library and hands them to the use cases, which never
reach back into `Library` (the add of one file walks discover -> prepare -> commit through
these ports alone).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assetloom.blobs.local import LocalBlobStore
from assetloom.index.live import LiveIndexes
from assetloom.settings import Settings
from assetloom.store.catalog import SqlCatalog
from assetloom.store.db import sqlite_url

if TYPE_CHECKING:
    from assetloom.tagging import Tagger

CATALOG = "catalog.db"
THUMBNAIL = "thumb.webp"


@dataclass(slots=True)
class IngestGuard:
    """Around each `add` in this process: sweeps what dead runs left, never what a live one
    is writing (the server runs several adds at once, each with pending blobs of its own)."""

    catalog: SqlCatalog
    blobs: LocalBlobStore
    derived: LocalBlobStore
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: int = 0

    @contextmanager
    def ingesting(self) -> Iterator[None]:
        with self._lock:
            self.sweep(include_own=self._running == 0)
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1

    def sweep(self, *, include_own: bool = True) -> int:
        """Remove blobs left by runs that died between writing a blob and committing its
        row; rows of this process only when `include_own` (no add of ours is running)."""
        me = os.getpid()
        dead = [
            p
            for p in self.catalog.pending()
            if (include_own if p.owner_pid == me else not _alive(p.owner_pid))
        ]
        if not dead:
            return 0
        swept = 0
        with self.catalog.unit_of_work() as uow:
            claimed = uow.registered(p.sha256 for p in dead)
            for p in dead:
                if p.sha256 not in claimed:
                    self.blobs.delete(p.sha256)
                    self.derived.delete_prefix(f"{p.sha256}/")
                    swept += 1
                uow.drop_pending(p.sha256)
        return swept


@dataclass(slots=True)
class Ports:
    settings: Settings
    catalog: SqlCatalog
    blobs: LocalBlobStore
    """Originals, keyed by SHA-256."""
    derived: LocalBlobStore
    """Thumbnails and other derived files, keyed '<sha256>/<name>'."""
    indexes: LiveIndexes
    tagger: Callable[[], Tagger]
    guard: IngestGuard


def build_ports(root: Path, settings: Settings, tagger: Callable[[], Tagger]) -> Ports:
    """The embedded default: SQLite catalog, blobs in the folder, FAISS indexes."""
    catalog = SqlCatalog(
        sqlite_url(root / CATALOG), busy_timeout_s=settings.busy_timeout_s, label=str(root)
    )
    blobs = LocalBlobStore(root / "blobs")
    derived = LocalBlobStore(root / "derived", fan_out=False)
    return Ports(
        settings=settings,
        catalog=catalog,
        blobs=blobs,
        derived=derived,
        indexes=LiveIndexes(root / "index", catalog.read_session),
        tagger=tagger,
        guard=IngestGuard(catalog, blobs, derived),
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
