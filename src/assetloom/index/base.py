"""The index ports: nearest vectors per space, and fingerprints within a Hamming radius.

Both are caches of the catalog in the embedded default (FAISS in memory, files in `index/`,
rebuilt whenever they disagree with the catalog); a server-side index (pgvector) is the
catalog itself, so its `catch_up` has nothing to do. Row ids are the catalog's own
(`embeddings.id`, `fingerprints.id`), so a hit is resolved through the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import numpy as np

VectorRow = tuple[int, str, bytes]
"""(embedding row id, space, float32 bytes)."""
FingerprintRow = tuple[int, str, bytes]
"""(fingerprint row id, kind, code bytes)."""


@runtime_checkable
class VectorIndex(Protocol):
    def search_assets(
        self, space: str, vector: np.ndarray, k: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """Assets nearest to `vector` in `space`, best first: (asset id, {"similarity"}, plus
        "segment" when the nearest vector is of a part of the asset: a key frame, a passage)."""
        ...

    def add_rows(self, rows: Iterable[VectorRow]) -> None:
        """After the catalog committed these rows (a no-op where the catalog is the index)."""
        ...

    def remove_rows(self, rows: Iterable[tuple[int, str]]) -> None: ...

    def rebuild(self) -> dict[str, int]:
        """From the catalog; entries per space."""
        ...

    def sizes(self) -> dict[str, int]:
        """Entries per space that are ready to search (loaded ones only, for a cache)."""
        ...


@runtime_checkable
class FingerprintIndex(Protocol):
    def search(self, family: str, codes: list[bytes], radius: int) -> list[list[tuple[int, int]]]:
        """For each code, (fingerprint row id, Hamming distance) within `radius`."""
        ...

    def add_rows(self, rows: Iterable[FingerprintRow]) -> None: ...

    def remove_rows(self, rows: Iterable[tuple[int, str]]) -> None: ...

    def rebuild(self) -> dict[str, int]: ...

    def sizes(self) -> dict[str, int]: ...
