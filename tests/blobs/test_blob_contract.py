"""Every BlobStore keeps the same promises (local now; S3 joins through `store` params)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.blobs.base import BlobMissingError, BlobStore
from assetloom.blobs.local import LocalBlobStore
from assetloom.errors import BadInputError


@pytest.fixture(params=["local-fan-out", "local-flat"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    yield LocalBlobStore(tmp_path / "blobs", fan_out=request.param == "local-fan-out")


def _file(tmp_path: Path, data: bytes, name: str = "src.bin") -> tuple[Path, str]:
    path = tmp_path / name
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_put_read_and_delete(store: BlobStore, tmp_path: Path) -> None:
    assert isinstance(store, BlobStore)
    source, sha = _file(tmp_path, b"x" * 3000)
    assert not store.exists(sha)
    store.put_file(sha, source, sha256=sha)
    store.put_file(sha, source, sha256=sha)  # a second put of a content key: no-op
    assert store.exists(sha) and store.size(sha) == 3000
    assert store.read_bytes(sha) == b"x" * 3000
    with store.open(sha) as f:
        assert f.read(10) == b"x" * 10
    with store.local_path(sha) as path:
        assert path.read_bytes() == b"x" * 3000
    assert sha in set(store.keys())
    store.delete(sha)
    store.delete(sha)  # deleting what is gone is fine
    assert not store.exists(sha)
    with pytest.raises(BlobMissingError, match="missing"):
        store.read_bytes(sha)
    with pytest.raises(BlobMissingError), store.local_path(sha):
        pass


def test_content_that_does_not_hash_to_its_key_is_refused(store: BlobStore, tmp_path: Path) -> None:
    source, _ = _file(tmp_path, b"changed under us")
    wrong = "0" * 64
    with pytest.raises(BadInputError, match="changed while it was being added"):
        store.put_file(wrong, source, sha256=wrong)
    assert not store.exists(wrong)
    assert list(store.keys()) == []  # no temporary file left behind either


def test_derived_keys_and_prefix_delete(store: BlobStore) -> None:
    if isinstance(store, LocalBlobStore) and store.fan_out:
        pytest.skip("derived files use the flat layout")
    a, b = "a" * 64, "b" * 64
    store.put_bytes(f"{a}/thumb.webp", b"thumb-a")
    store.put_bytes(f"{a}/preview.webp", b"preview-a")
    store.put_bytes(f"{b}/thumb.webp", b"thumb-b")
    assert sorted(store.keys(a)) == [f"{a}/preview.webp", f"{a}/thumb.webp"]
    store.delete_prefix(f"{a}/")
    assert list(store.keys(a)) == [] and store.read_bytes(f"{b}/thumb.webp") == b"thumb-b"


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../x"])
def test_keys_cannot_escape_the_store(store: BlobStore, key: str) -> None:
    with pytest.raises(BadInputError, match="not a relative key"):
        store.put_bytes(key, b"x")


def test_local_blobs_are_served_by_the_app(store: BlobStore) -> None:
    assert store.url("a" * 64, expires_s=60) is None
