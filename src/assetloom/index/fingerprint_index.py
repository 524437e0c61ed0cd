"""Hamming indexes over the catalog's perceptual fingerprints, one per code family."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from assetloom.core.assets import Family
from assetloom.index.catalog_cache import CatalogCache, Row, figures
from assetloom.index.hamming import HammingIndex

# Stored kinds searched by Hamming distance, by family: every kind in a family has one width.
# pHash is not indexed: it only confirms PDQ candidates (core.copy_rules).
FAMILY_PREFIXES = {family.value: family for family in Family}
"""Fingerprint kind prefix -> its Hamming family (PDQ's dihedral variants are pdq*)."""


def family_of(kind: str) -> str | None:
    for prefix, family in FAMILY_PREFIXES.items():
        if kind.startswith(prefix):
            return family
    return None


class FingerprintIndex(CatalogCache[HammingIndex]):
    manifest_name = "fingerprints.json"
    suffix = ".faissbin"

    def catalog_stats(self) -> dict[str, list[int]]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for kind, count, max_id in self.catalog.fingerprint_figures():
            family = family_of(kind)
            if family:
                counts[family][0] += count
                counts[family][1] = max(counts[family][1], max_id)
        newest = self.catalog.fingerprint_values([m for _, m in counts.values()])
        return {f: figures(n, m, newest.get(m)) for f, (n, m) in counts.items()}

    def build(self, key: str) -> HammingIndex:
        prefixes = _prefixes(key)
        ids: list[int] = []
        codes: list[bytes] = []
        for row_id, kind, value in self.catalog.iter_fingerprints():
            if kind.startswith(prefixes):
                ids.append(row_id)
                codes.append(value)
        index = HammingIndex(Family(key).bits)
        if ids:
            index.add(np.asarray(ids, dtype=np.int64), _as_codes(codes, key))
        return index

    def rows_between(self, key: str, after_id: int, up_to_id: int) -> list[Row]:
        prefixes = _prefixes(key)
        rows = self.catalog.fingerprints_between(after_id, up_to_id)
        return [(i, k, v) for i, k, v in rows if k.startswith(prefixes)]

    def load_file(self, path: Path) -> HammingIndex:
        return HammingIndex.load(path)

    def dump(self, index: HammingIndex) -> bytes:
        return index.to_bytes()

    def add_rows(self, rows: Iterable[Row]) -> None:
        rows = list(rows)
        indexes = self.loaded()  # first: loading reads rows the catalog already holds
        by_family = self.new_rows(rows, {kind: f for _, kind, _ in rows if (f := family_of(kind))})
        for family, items in by_family.items():
            if family not in indexes:
                indexes[family] = HammingIndex(Family(family).bits)
            ids = np.asarray([i for i, _, _ in items], dtype=np.int64)
            indexes[family].add(ids, _as_codes([v for _, _, v in items], family))
            self.note_added(family, items)

    def remove_rows(self, rows: Iterable[tuple[int, str]]) -> None:
        by_family: dict[str, list[int]] = defaultdict(list)
        for row_id, kind in rows:
            family = family_of(kind)
            if family:
                by_family[family].append(row_id)
        indexes = self.loaded()
        for family, ids in by_family.items():
            if family in indexes:
                indexes[family].remove(np.asarray(ids, dtype=np.int64))
        self.refresh_stats()

    def search(self, family: str, codes: list[bytes], radius: int) -> list[list[tuple[int, int]]]:
        """For each code, (fingerprint row id, Hamming distance) within `radius`."""
        index = self.loaded().get(family)
        if index is None or len(index) == 0 or not codes:
            return [[] for _ in codes]
        return index.range_search(_as_codes(codes, family), radius)


def _prefixes(family: str) -> tuple[str, ...]:
    return tuple(p for p, f in FAMILY_PREFIXES.items() if f == family)


def _as_codes(values: list[bytes], family: str) -> np.ndarray:
    """The family's codes: a value's leading bytes (a video frame's PDQ is followed by its
    time, `core.video_match`)."""
    width = Family(family).bits // 8
    return np.frombuffer(b"".join(v[:width] for v in values), dtype=np.uint8).reshape(-1, width)
