"""The FAISS caches are one implementation of the index ports (pgvector is another)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from assetloom.app.library import Library
from assetloom.index.base import FingerprintIndex, VectorIndex
from assetloom.store.schema import FingerprintRow
from tests.media import make_photo


def test_faiss_caches_implement_the_ports(library: Library, tmp_path: Path) -> None:
    library.add([make_photo(tmp_path / f"{i}.jpg", 40 + i) for i in range(3)])
    fingerprints, vectors = library.fingerprint_index(), library.vector_spaces()
    assert isinstance(fingerprints, FingerprintIndex) and isinstance(vectors, VectorIndex)
    with library.read_session() as s:
        pdq_rows = s.scalar(
            select(func.count()).select_from(FingerprintRow).where(FingerprintRow.kind.like("pdq%"))
        )
    assert pdq_rows and fingerprints.sizes()["pdq"] == pdq_rows
    assert fingerprints.rebuild() == fingerprints.sizes()
