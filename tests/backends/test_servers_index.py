"""`assetloom index rebuild` on both backends: the embedded library (FAISS caches of catalog.db)
and PostgreSQL + S3 (vectors rebuilt as pgvector HNSW indexes in the catalog, fingerprints as
the FAISS cache in the folder); `verify` finds copies after the folder's index/ is deleted.

The vectors are written into the catalog as `add` writes them (embeddings rows of one space),
so the rebuild has something to build without the models.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetloom.app.library import Library
from assetloom.index.pgvector import index_name
from assetloom.store.search_tables import EmbeddingRow
from tests.backends.remote_library import Remote, cli_json, remote_library
from tests.backends.servers import S3Server
from tests.media import make_photo

DIMS = 24
PHOTOS = 6


@pytest.fixture(params=["embedded", "servers"])
def library_dir(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Path, Remote | None]]:
    """(library folder, its servers or None): a new library on either backend."""
    root = tmp_path / "lib"
    if request.param == "embedded":
        Library.create(root).close()
        yield root, None
        return
    postgres_url: str = request.getfixturevalue("postgres_url")
    s3_bucket: S3Server = request.getfixturevalue("s3_bucket")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    with remote_library(postgres_url, s3_bucket, monkeypatch) as remote:
        Library.create(root, catalog=remote.catalog, blobs=remote.blobs).close()
        yield root, remote


def _with_vectors(root: Path, photos: list[Path]) -> dict[str, np.ndarray]:
    """Add the photos and one unit vector each in space "visual"; asset id -> vector."""
    rng = np.random.default_rng(11)
    with Library.open(root) as lib:
        added = lib.add(photos).added
        assert len(added) == len(photos)
        vectors = {}
        with lib.write_session() as s, s.begin():
            for outcome in added:
                v = rng.standard_normal(DIMS).astype(np.float32)
                v /= np.linalg.norm(v)
                vectors[outcome.asset_id] = v
                s.add(
                    EmbeddingRow(
                        asset_id=outcome.asset_id, space="visual", model="t", vector=v.tobytes()
                    )
                )
    return vectors


def _nearest(root: Path, vector: np.ndarray) -> list[str]:
    with Library.open(root) as lib:
        return [asset_id for asset_id, _ in lib.vector_spaces().search_assets("visual", vector, 3)]


def _edited(photo: Path) -> Path:
    out = io.BytesIO()
    with Image.open(photo) as im:
        im.resize((im.width // 2, im.height // 2)).save(out, "JPEG", quality=70)
    path = photo.with_name(f"edited-{photo.name}")
    path.write_bytes(out.getvalue())
    return path


def test_index_rebuild_then_verify_without_the_index_folder(
    library_dir: tuple[Path, Remote | None], tmp_path: Path
) -> None:
    root, remote = library_dir
    photos = [make_photo(tmp_path / "in" / f"p{i}.jpg", 1200 + i) for i in range(PHOTOS)]
    vectors = _with_vectors(root, photos)
    edited = _edited(photos[2])
    pick = next(iter(vectors))

    sizes = cli_json(root, "index", "rebuild")
    assert sizes["vectors"] == {"visual": PHOTOS}
    assert sizes["fingerprints"] and all(n >= PHOTOS for n in sizes["fingerprints"].values())
    assert _nearest(root, vectors[pick])[0] == pick
    on_disk = {p.name for p in (root / "index").iterdir()}
    assert "fingerprints.json" in on_disk
    if remote is None:
        assert "vectors.json" in on_disk  # the FAISS cache of the embeddings
    else:
        assert "vectors.json" not in on_disk, "pgvector: no vector cache in the folder"
        (valid,) = remote.rows(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = :name",
            name=index_name("visual", DIMS),
        )
        assert valid == (True,)
        assert not remote.rows(
            "SELECT relname FROM pg_class WHERE relname LIKE 'ix_embeddings_hnsw_%__new'"
        ), "the rebuilt index was swapped in"

    shutil.rmtree(root / "index")
    (result,) = cli_json(root, "verify", str(edited))["results"]
    assert result["tier"] == "near-identical"
    assert result["matches"][0]["original_name"] == "p2.jpg"
    assert result["matches"][0]["ledger"]["verified"] is True
    assert (root / "index" / "fingerprints.json").is_file(), "the cache was rebuilt"
    assert _nearest(root, vectors[pick])[0] == pick

    shutil.rmtree(root / "index")
    assert cli_json(root, "index", "rebuild") == sizes
    (again,) = cli_json(root, "verify", str(edited))["results"]
    assert again["tier"] == "near-identical"
