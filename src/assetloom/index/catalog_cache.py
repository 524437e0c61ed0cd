"""Index files as a cache of the catalog: per-key indexes rebuilt whenever they go stale.

Each key (a fingerprint family, a vector space) has catalog figures: row count, highest row id
and a checksum of that row's payload (ids of deleted newest rows can be reused, the payload
tells). A manifest stores the figures of the saved index files; on load, a key whose figures
differ (another process wrote, a crash lost a save, a file is missing or damaged) is rebuilt
from the catalog, so the catalog stays the only truth.

A long-running process (the server) catches its loaded indexes up with writes made by other
processes in two steps: `plan_catch_up` reads the catalog without any lock (new rows when only
rows were added, otherwise a rebuilt index) and `apply` swaps the result in under the caller's
write lock, skipping any key that changed in between (the next round sees it again).
"""

from __future__ import annotations

import json
import threading
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from assetloom.blobs.local import write_atomic

if TYPE_CHECKING:
    from assetloom.store.catalog import SqlCatalog

I = TypeVar("I", bound=Sized)  # noqa: E741
Row = tuple[int, str, bytes]
"""(row id, kind or space, payload): what `add_rows` takes."""


def figures(count: int, max_id: int, max_payload: bytes | None) -> list[int]:
    return [count, max_id, zlib.crc32(max_payload) if max_payload is not None else 0]


@dataclass
class CatchUp(Generic[I]):
    key: str
    seen: list[int] | None
    """In-memory figures the plan starts from; the plan is void if they changed."""
    target: list[int] | None
    """Catalog figures after the plan; None: the key has no rows any more."""
    rows: list[Row] | None = None
    """Rows to add (only rows were added), or None: replace the index."""
    index: I | None = None


@dataclass
class Snapshot:
    files: dict[Path, bytes]
    manifest_path: Path
    manifest: bytes

    def write(self) -> None:
        """Index files first, the manifest naming their figures last: a crash in between
        leaves a manifest that does not match, so the next load rebuilds."""
        for path, data in self.files.items():
            write_atomic(path, data)
        write_atomic(self.manifest_path, self.manifest)


class CatalogCache(ABC, Generic[I]):
    manifest_name: str
    suffix: str

    def __init__(self, folder: Path, catalog: SqlCatalog) -> None:
        self.folder = folder
        self.catalog = catalog
        self._indexes: dict[str, I] | None = None
        self._stats: dict[str, list[int]] = {}
        self._load_lock = threading.Lock()
        self.dirty = False
        """Changed in memory since the last save."""

    @abstractmethod
    def catalog_stats(self) -> dict[str, list[int]]:
        """key -> `figures(...)`, read from the catalog."""

    @abstractmethod
    def build(self, key: str) -> I:
        """A fresh index for `key` from the catalog rows."""

    @abstractmethod
    def rows_between(self, key: str, after_id: int, up_to_id: int) -> list[Row]:
        """Catalog rows of `key` with after_id < id <= up_to_id."""

    @abstractmethod
    def add_rows(self, rows: Iterable[Row]) -> None: ...

    @abstractmethod
    def load_file(self, path: Path) -> I: ...

    @abstractmethod
    def dump(self, index: I) -> bytes:
        """The index file's bytes (what `load_file` reads back)."""

    def path(self, key: str) -> Path:
        return self.folder / f"{key}{self.suffix}"

    @property
    def is_loaded(self) -> bool:
        return self._indexes is not None

    def loaded(self) -> dict[str, I]:
        if self._indexes is None:
            with self._load_lock:  # concurrent first searches load once
                if self._indexes is None:
                    self.sync()
        assert self._indexes is not None
        return self._indexes

    def sizes(self) -> dict[str, int]:
        """Entries per key (loading the indexes first if need be)."""
        return {key: len(index) for key, index in self.loaded().items()}

    def sync(self) -> None:
        """Load the saved indexes, rebuilding any key that no longer matches the catalog."""
        catalog = self.catalog_stats()
        saved = self._read_manifest()
        indexes: dict[str, I] = {}
        for key, figures_ in catalog.items():
            index = None
            if saved.get(key) == figures_ and self.path(key).is_file():
                try:
                    index = self.load_file(self.path(key))
                except Exception:  # a damaged cache file is rebuilt, never trusted
                    index = None
                if index is not None and len(index) != figures_[0]:
                    index = None
            indexes[key] = index if index is not None else self.build(key)
        self._stats = {k: list(v) for k, v in catalog.items()}
        self._indexes = indexes
        if catalog != saved:
            self.save()

    def new_rows(self, rows: list[Row], key_of: dict[str, str]) -> dict[str, list[Row]]:
        """`rows` by key, without rows the index already holds (a catch-up may have added
        them between the catalog commit and this call)."""
        out: dict[str, list[Row]] = {}
        for row in rows:
            key = key_of.get(row[1])
            if key is not None and row[0] > self._stats.get(key, [0, 0, 0])[1]:
                out.setdefault(key, []).append(row)
        return out

    def note_added(self, key: str, rows: list[Row]) -> None:
        stats = self._stats.setdefault(key, [0, 0, 0])
        newest = max(rows)
        stats[0] += len(rows)
        if newest[0] > stats[1]:
            stats[:] = figures(stats[0], newest[0], newest[2])
        self.dirty = True

    def refresh_stats(self) -> None:
        """After removals: the highest id can only be read back from the catalog."""
        self._stats = self.catalog_stats()
        self.dirty = True

    # ------------------------------------------------------------------ catching up
    def plan_catch_up(self) -> list[CatchUp[I]]:
        """What it takes to bring the loaded indexes up to the catalog (no lock needed)."""
        if self._indexes is None:
            return []  # nothing in memory to go stale; the first use loads the catalog
        catalog = self.catalog_stats()
        plans: list[CatchUp[I]] = []
        for key in sorted(set(catalog) | set(self._stats)):
            seen = self._stats.get(key)
            target = catalog.get(key)
            if seen == target:
                continue
            seen = list(seen) if seen is not None else None
            if target is None:
                plans.append(CatchUp(key, seen, None))
                continue
            if seen is not None and seen[0] > 0 and target[1] > seen[1]:
                rows = self.rows_between(key, seen[1], target[1])
                # Only additions, if the old newest row is still there and counts add up.
                if seen[0] + len(rows) == target[0] and self._still_there(key, seen):
                    plans.append(CatchUp(key, seen, target, rows=rows))
                    continue
            plans.append(CatchUp(key, seen, target, index=self.build(key)))
        return plans

    def _still_there(self, key: str, seen: list[int]) -> bool:
        newest = self.rows_between(key, seen[1] - 1, seen[1])
        return bool(newest) and figures(seen[0], seen[1], newest[0][2]) == seen

    def apply(self, plans: list[CatchUp[I]]) -> dict[str, int]:
        """Swap planned changes in (caller holds the index write lock); key -> entries now."""
        indexes = self.loaded()
        done: dict[str, int] = {}
        for plan in plans:
            if self._stats.get(plan.key) != plan.seen:
                continue  # changed since the plan was made: the next round redoes it
            if plan.target is None:
                indexes.pop(plan.key, None)
                self._stats.pop(plan.key, None)
                done[plan.key] = 0
                continue
            if plan.rows is not None:
                self.add_rows(plan.rows)
            else:
                assert plan.index is not None
                indexes[plan.key] = plan.index
            self._stats[plan.key] = list(plan.target)
            done[plan.key] = len(indexes[plan.key])
        if done:
            self.dirty = True
        return done

    # ------------------------------------------------------------------ files
    def _read_manifest(self) -> dict[str, list[int]]:
        try:
            return json.loads((self.folder / self.manifest_name).read_text())
        except (OSError, ValueError):
            return {}

    def snapshot(self) -> Snapshot | None:
        """Every index's file bytes and the figures they hold (hold the index lock for reading
        while taking it; writing it out, the slow part, needs no lock)."""
        if self._indexes is None:
            return None
        files = {self.path(key): self.dump(index) for key, index in self._indexes.items()}
        manifest = json.dumps(self._stats).encode()
        self.dirty = False
        return Snapshot(files, self.folder / self.manifest_name, manifest)

    def save(self) -> None:
        snap = self.snapshot()
        if snap is not None:
            snap.write()

    def rebuild(self) -> dict[str, int]:
        """Drop the cache and rebuild every key from the catalog."""
        (self.folder / self.manifest_name).unlink(missing_ok=True)
        self._indexes = None
        return {key: len(index) for key, index in self.loaded().items()}
