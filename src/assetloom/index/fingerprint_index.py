"""Hamming indexes over the catalog's perceptual fingerprints, one per code family.

The catalog is the truth; these files under `index/` are a cache. A manifest records how many
rows (and the highest row id) each family held when saved; on load, a family whose catalog
figures differ (another process wrote, a crash lost a save, a file is missing or damaged) is
rebuilt from the catalog.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from assetloom.index.hamming import HammingIndex
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from assetloom.blobs.local import write_atomic
from assetloom.store.schema import FingerprintRow

MANIFEST = "fingerprints.json"
# Stored kinds searched by Hamming distance, by family: every kind in a family has one width.
FAMILY_PREFIXES = {"pdq": "pdq", "phash": "phash", "simhash64": "simhash64"}


def family_of(kind: str) -> str | None:
    for prefix, family in FAMILY_PREFIXES.items():
        if kind.startswith(prefix):
            return family
    return None


class FingerprintIndex:
    def __init__(self, folder: Path, sessions: sessionmaker[Session]) -> None:
        self.folder = folder
        self.sessions = sessions
        self._indexes: dict[str, HammingIndex] | None = None
        self._stats: dict[str, list[int]] = {}

    # ------------------------------------------------------------------ loading
    def _catalog_stats(self) -> dict[str, list[int]]:
        stats: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        with self.sessions() as s:
            rows = s.execute(
                select(FingerprintRow.kind, func.count(), func.max(FingerprintRow.id)).group_by(
                    FingerprintRow.kind
                )
            ).all()
        for kind, count, max_id in rows:
            family = family_of(kind)
            if family:
                stats[family][0] += int(count)
                stats[family][1] = max(stats[family][1], int(max_id or 0))
        return dict(stats)

    def _loaded(self) -> dict[str, HammingIndex]:
        if self._indexes is None:
            self.sync()
        assert self._indexes is not None
        return self._indexes

    def sync(self) -> None:
        """Load the saved indexes, rebuilding any family that no longer matches the catalog."""
        catalog = self._catalog_stats()
        saved = self._read_manifest()
        indexes: dict[str, HammingIndex] = {}
        for family, figures in catalog.items():
            path = self.folder / f"{family}.faissbin"
            index = None
            if saved.get(family) == figures and path.is_file():
                try:
                    index = HammingIndex.load(path)
                except Exception:  # a damaged cache file is rebuilt, never trusted
                    index = None
                if index is not None and len(index) != figures[0]:
                    index = None
            indexes[family] = index if index is not None else self._rebuild(family)
        self._indexes = indexes
        self._stats = {k: list(v) for k, v in catalog.items()}
        if catalog != saved:
            self.save()

    def _rebuild(self, family: str) -> HammingIndex:
        kinds = [p for p, f in FAMILY_PREFIXES.items() if f == family]
        ids: list[int] = []
        codes: list[bytes] = []
        with self.sessions() as s:
            q = select(FingerprintRow.id, FingerprintRow.kind, FingerprintRow.value)
            for row_id, kind, value in s.execute(q).yield_per(10_000):
                if any(kind.startswith(k) for k in kinds):
                    ids.append(row_id)
                    codes.append(value)
        width = len(codes[0]) * 8 if codes else 0
        index = HammingIndex(width or _default_width(family))
        if ids:
            index.add(np.asarray(ids, dtype=np.int64), _as_codes(codes))
        return index

    def _read_manifest(self) -> dict[str, list[int]]:
        try:
            return json.loads((self.folder / MANIFEST).read_text())
        except (OSError, ValueError):
            return {}

    def save(self) -> None:
        if self._indexes is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for family, index in self._indexes.items():
            index.save(self.folder / f"{family}.faissbin")
        write_atomic(self.folder / MANIFEST, json.dumps(self._stats).encode())

    def rebuild(self) -> dict[str, int]:
        """Drop the cache and rebuild every family from the catalog."""
        (self.folder / MANIFEST).unlink(missing_ok=True)
        self._indexes = None
        self.sync()
        return {family: len(index) for family, index in self._loaded().items()}

    # ------------------------------------------------------------------ updates
    def add_rows(self, rows: Iterable[tuple[int, str, bytes]]) -> None:
        by_family: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
        for row_id, kind, value in rows:
            family = family_of(kind)
            if family:
                by_family[family].append((row_id, value))
        if not by_family:
            return
        indexes = self._loaded()
        for family, items in by_family.items():
            if family not in indexes:
                indexes[family] = HammingIndex(len(items[0][1]) * 8)
            ids = np.asarray([i for i, _ in items], dtype=np.int64)
            indexes[family].add(ids, _as_codes([v for _, v in items]))
            stats = self._stats.setdefault(family, [0, 0])
            stats[0] += len(items)
            stats[1] = max(stats[1], int(ids.max()))

    def remove_rows(self, rows: Iterable[tuple[int, str]]) -> None:
        by_family: dict[str, list[int]] = defaultdict(list)
        for row_id, kind in rows:
            family = family_of(kind)
            if family:
                by_family[family].append(row_id)
        indexes = self._loaded()
        for family, ids in by_family.items():
            if family in indexes:
                indexes[family].remove(np.asarray(ids, dtype=np.int64))
                self._stats[family][0] -= len(ids)
        # max id can only be recomputed from the catalog; resync figures cheaply.
        self._stats = {k: v for k, v in self._catalog_stats().items()}

    # ------------------------------------------------------------------ search
    def search(self, family: str, codes: list[bytes], radius: int) -> list[list[tuple[int, int]]]:
        """For each code, (fingerprint row id, Hamming distance) within `radius`."""
        index = self._loaded().get(family)
        if index is None or len(index) == 0 or not codes:
            return [[] for _ in codes]
        return index.range_search(_as_codes(codes), radius)

    def size(self, family: str) -> int:
        index = self._loaded().get(family)
        return len(index) if index is not None else 0


def _as_codes(values: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(values), dtype=np.uint8).reshape(len(values), -1)


def _default_width(family: str) -> int:
    return 256 if family == "pdq" else 64
