"""Index files as a cache of the catalog: per-key indexes rebuilt whenever they go stale.

A manifest records, per key, how many catalog rows the saved index holds and the highest row
id. On load, a key whose catalog figures differ (another process wrote, a crash lost a save,
a file is missing or damaged) is rebuilt from the catalog, so the catalog stays the only truth.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sized
from pathlib import Path
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from assetloom.blobs.local import write_atomic

I = TypeVar("I", bound=Sized)  # noqa: E741


class CatalogCache(ABC, Generic[I]):
    manifest_name: str
    suffix: str

    def __init__(self, folder: Path, sessions: sessionmaker[Session]) -> None:
        self.folder = folder
        self.sessions = sessions
        self._indexes: dict[str, I] | None = None
        self._stats: dict[str, list[int]] = {}

    @abstractmethod
    def catalog_stats(self) -> dict[str, list[int]]:
        """key -> [row count, highest row id], read from the catalog."""

    @abstractmethod
    def build(self, key: str) -> I:
        """A fresh index for `key` from the catalog rows."""

    @abstractmethod
    def load_file(self, path: Path) -> I: ...

    @abstractmethod
    def save_file(self, index: I, path: Path) -> None: ...

    def path(self, key: str) -> Path:
        return self.folder / f"{key}{self.suffix}"

    def loaded(self) -> dict[str, I]:
        if self._indexes is None:
            self.sync()
        assert self._indexes is not None
        return self._indexes

    def sync(self) -> None:
        """Load the saved indexes, rebuilding any key that no longer matches the catalog."""
        catalog = self.catalog_stats()
        saved = self._read_manifest()
        indexes: dict[str, I] = {}
        for key, figures in catalog.items():
            index = None
            if saved.get(key) == figures and self.path(key).is_file():
                try:
                    index = self.load_file(self.path(key))
                except Exception:  # a damaged cache file is rebuilt, never trusted
                    index = None
                if index is not None and len(index) != figures[0]:
                    index = None
            indexes[key] = index if index is not None else self.build(key)
        self._indexes = indexes
        self._stats = {k: list(v) for k, v in catalog.items()}
        if catalog != saved:
            self.save()

    def note_added(self, key: str, count: int, max_id: int) -> None:
        stats = self._stats.setdefault(key, [0, 0])
        stats[0] += count
        stats[1] = max(stats[1], max_id)

    def refresh_stats(self) -> None:
        """After removals: the highest id can only be read back from the catalog."""
        self._stats = self.catalog_stats()

    def _read_manifest(self) -> dict[str, list[int]]:
        try:
            return json.loads((self.folder / self.manifest_name).read_text())
        except (OSError, ValueError):
            return {}

    def save(self) -> None:
        if self._indexes is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for key, index in self._indexes.items():
            self.save_file(index, self.path(key))
        write_atomic(self.folder / self.manifest_name, json.dumps(self._stats).encode())

    def rebuild(self) -> dict[str, int]:
        """Drop the cache and rebuild every key from the catalog."""
        (self.folder / self.manifest_name).unlink(missing_ok=True)
        self._indexes = None
        return {key: len(index) for key, index in self.loaded().items()}
