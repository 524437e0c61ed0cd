"""Dense vector indexes over the catalog's embeddings, one per space (visual, text, backbone)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from assetloom.index.catalog_cache import CatalogCache, Row, figures
from assetloom.index.vector_index import VectorIndex


class VectorSpaces(CatalogCache[VectorIndex]):
    manifest_name = "vectors.json"
    suffix = ".faiss"

    def catalog_stats(self) -> dict[str, list[int]]:
        rows = self.catalog.vector_figures()
        newest = self.catalog.vector_values([m for _, _, m in rows])
        return {space: figures(n, m, newest.get(m)) for space, n, m in rows}

    def build(self, key: str) -> VectorIndex:
        ids: list[int] = []
        vectors: list[bytes] = []
        for row_id, vector in self.catalog.iter_vectors(key):
            ids.append(row_id)
            vectors.append(vector)
        return VectorIndex.build(np.asarray(ids, dtype=np.int64), _as_matrix(vectors), space=key)

    def rows_between(self, key: str, after_id: int, up_to_id: int) -> list[Row]:
        return self.catalog.vectors_between(key, after_id, up_to_id)

    def load_file(self, path: Path) -> VectorIndex:
        return VectorIndex.load(path)

    def dump(self, index: VectorIndex) -> bytes:
        return index.to_bytes()

    def add_rows(self, rows: Iterable[Row]) -> None:
        rows = list(rows)
        indexes = self.loaded()  # first: loading reads rows the catalog already holds
        by_space = self.new_rows(rows, {space: space for _, space, _ in rows})
        for space, items in by_space.items():
            ids = np.asarray([i for i, _, _ in items], dtype=np.int64)
            matrix = _as_matrix([v for _, _, v in items])
            if space not in indexes:
                indexes[space] = VectorIndex.build(ids, matrix, space=space)
            else:
                indexes[space].add(ids, matrix)
            self.note_added(space, items)

    def remove_rows(self, rows: Iterable[tuple[int, str]]) -> None:
        by_space: dict[str, list[int]] = defaultdict(list)
        for row_id, space in rows:
            by_space[space].append(row_id)
        indexes = self.loaded()
        for space, ids in by_space.items():
            if space in indexes:
                indexes[space].remove(np.asarray(ids, dtype=np.int64))
                if indexes[space].needs_compaction:
                    indexes[space].compact()
        self.refresh_stats()

    def search_assets(
        self, space: str, vector: np.ndarray, k: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """Assets nearest to `vector` in `space`, best first, with their cosine similarity."""
        index = self.loaded().get(space)
        if index is None or len(index) == 0:
            return []
        hits = index.search_one(np.asarray(vector, dtype=np.float32), k)
        if not hits:
            return []
        owners = self.catalog.owners_of_vectors(row_id for row_id, _ in hits)
        return [
            (owners[row_id][0], _detail(score, owners[row_id][1]))
            for row_id, score in hits
            if row_id in owners
        ]


def _detail(score: float, segment: dict[str, Any] | None) -> dict[str, Any]:
    """Why a vector matched: its cosine, and the part of the asset it is of (if a part)."""
    detail: dict[str, Any] = {"similarity": round(float(score), 4)}
    if segment:
        detail["segment"] = segment
    return detail


def _as_matrix(vectors: list[bytes]) -> np.ndarray:
    if not vectors:
        return np.zeros((0, 0), dtype=np.float32)
    return np.frombuffer(b"".join(vectors), dtype=np.float32).reshape(len(vectors), -1)
