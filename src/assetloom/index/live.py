"""A library's in-memory indexes: loaded on first use, locked, saved, caught up.

One `LiveIndexes` per open library. Writers in this process change the indexes under
`lock.writing()` right after their catalog commit; threads that search hold `lock.reading()`.
A long-running process calls `catch_up` to absorb other processes' writes (see
`CatalogCache.plan_catch_up`) and saves on its own schedule (`defer_saves`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetloom.rwlock import ReadWriteLock

if TYPE_CHECKING:
    from assetloom.index.base import VectorIndex
    from assetloom.index.catalog_cache import CatalogCache
    from assetloom.index.fingerprint_index import FingerprintIndex
    from assetloom.index.vector_spaces import VectorSpaces
    from assetloom.store.catalog import (
        SqlCatalog,  # FAISS loads on first use, not when a CLI command starts
    )


class LiveIndexes:
    def __init__(
        self,
        folder: Path,
        catalog: SqlCatalog,
        *,
        vectors: VectorIndex | None = None,
    ) -> None:
        """`vectors`: a vector index that is the catalog itself (pgvector), used instead of
        the FAISS cache; it needs no saving and no catch-up."""
        self.folder = folder
        self._external_vectors = vectors
        self.catalog = catalog
        self.lock = ReadWriteLock()
        self.defer_saves = False
        """True in a long-running process that saves indexes on its own schedule."""
        self._fingerprints: FingerprintIndex | None = None
        self._vectors: VectorSpaces | None = None
        self._make_lock = threading.Lock()
        self._save_lock = threading.Lock()

    def fingerprints(self) -> FingerprintIndex:
        from assetloom.index.fingerprint_index import FingerprintIndex

        if self._fingerprints is None:
            with self._make_lock:
                if self._fingerprints is None:
                    self._fingerprints = FingerprintIndex(self.folder, self.catalog)
        return self._fingerprints

    def vectors(self) -> VectorSpaces | VectorIndex:
        from assetloom.index.vector_spaces import VectorSpaces

        if self._external_vectors is not None:
            return self._external_vectors
        if self._vectors is None:
            with self._make_lock:
                if self._vectors is None:
                    self._vectors = VectorSpaces(self.folder, self.catalog)
        return self._vectors

    def _caches(self) -> dict[str, CatalogCache[Any]]:
        return {
            name: cache
            for name, cache in (("fingerprints", self._fingerprints), ("vectors", self._vectors))
            if cache is not None
        }

    def changed(self) -> None:
        """After a write: save the changed indexes now, unless this process saves later."""
        if not self.defer_saves:
            self.save()

    def save(self) -> None:
        """Write changed indexes to their folder (a cache: losing it costs a rebuild). Only
        the in-memory copy holds the lock; the disk writes happen after it is released."""
        with self._save_lock:
            with self.lock.reading():
                snapshots = [c.snapshot() for c in self._caches().values() if c.dirty]
            for snap in snapshots:
                if snap is not None:
                    snap.write()

    def catch_up(self) -> tuple[dict[str, int], bool]:
        """Bring loaded indexes up to the catalog: (index -> entries for each that changed,
        whether every plan applied; one overtaken by this process's own write is not)."""
        caches = {name: c for name, c in self._caches().items() if c.is_loaded}
        plans = {name: cache.plan_catch_up() for name, cache in caches.items()}
        changed: dict[str, int] = {}
        complete = True
        if any(plans.values()):
            with self.lock.writing():
                for name, cache in caches.items():
                    done = cache.apply(plans[name])
                    complete = complete and len(done) == len(plans[name])
                    changed.update({f"{name}/{key}": n for key, n in done.items()})
        return changed, complete
