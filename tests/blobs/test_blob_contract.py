"""Every BlobStore keeps the same promises: the local folder and S3 (SeaweedFS on loopback, started
by the `s3_bucket` fixture), each with the fan-out layout of originals and the flat one of derived
files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.blobs.base import BlobMissingError, BlobStore
from assetloom.blobs.local import LocalBlobStore
from assetloom.errors import BadInputError


@pytest.fixture(params=["local-fan-out", "local-flat", "s3-fan-out", "s3-flat"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    """S3 stores take the caller's client (botocore's default checksums) and a prefix of the
    test's own; tests/blobs/test_s3_blobs.py covers the client `from_url` builds."""
    kind, _, layout = request.param.partition("-")
    fan_out = layout == "fan-out"
    if kind == "local":
        yield LocalBlobStore(tmp_path / "blobs", fan_out=fan_out)
        return
    server = request.getfixturevalue("s3_bucket")  # skips when the servers cannot start
    prefix = request.getfixturevalue("s3_prefix")
    from assetloom.blobs.s3 import S3BlobStore

    yield S3BlobStore(
        server.bucket, f"{prefix}/blobs", request.getfixturevalue("s3_client"), fan_out=fan_out
    )


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
    if getattr(store, "fan_out", False):
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
    if not isinstance(store, LocalBlobStore):
        pytest.skip("remote stores give presigned links (next test)")
    assert store.url("a" * 64, expires_s=60) is None


def test_remote_blobs_get_presigned_links(store: BlobStore) -> None:
    # The local case above encodes a local-only detail (None: the app streams the file); the
    # S3 side of the same rule is a link the browser fetches without our server.
    if isinstance(store, LocalBlobStore):
        pytest.skip("the app serves local blobs itself (previous test)")
    url = store.url("a" * 64, expires_s=60, filename="a.jpg", mime="image/jpeg")
    assert url is not None and url.startswith("http") and "X-Amz-Signature=" in url


def test_put_file_keeps_what_is_there_and_put_bytes_replaces(
    store: BlobStore, tmp_path: Path
) -> None:
    first, sha = _file(tmp_path, b"the original", "first.bin")
    second, _ = _file(tmp_path, b"other bytes, same key", "second.bin")
    store.put_file(sha, first, sha256=sha)
    store.put_file(sha, second)  # no hash to check: still never an overwrite
    assert store.read_bytes(sha) == b"the original"
    derived = "d" * 64  # a key that suits both layouts
    store.put_bytes(derived, b"old thumbnail")
    store.put_bytes(derived, b"new thumbnail")  # derived files are regenerated in place
    assert store.read_bytes(derived) == b"new thumbnail"


def test_open_reads_and_seeks(store: BlobStore) -> None:
    data = bytes(range(256)) * 40
    key = hashlib.sha256(data).hexdigest()
    store.put_bytes(key, data)
    with store.open(key) as f:
        assert f.read(3) == data[:3]
        f.seek(1000)
        assert f.read(4) == data[1000:1004]
        assert f.seek(-6, 2) == len(data) - 6
        assert f.read() == data[-6:]
        assert f.read() == b""


def test_missing_blob_has_no_size_and_cannot_be_opened(store: BlobStore) -> None:
    with pytest.raises(BlobMissingError, match="missing"):
        store.size("c" * 64)
    with pytest.raises(BlobMissingError, match="missing"):
        store.open("c" * 64)


def test_keys_filter_by_prefix(store: BlobStore) -> None:
    keys = ["ab" + "1" * 62, "ab" + "2" * 62, "ac" + "3" * 62, "ba" + "4" * 62]
    for key in keys:
        store.put_bytes(key, key.encode())
    assert sorted(store.keys()) == sorted(keys)
    assert sorted(store.keys("a")) == sorted(keys[:3])
    assert sorted(store.keys("ab")) == sorted(keys[:2])
    assert list(store.keys("ab2")) == [keys[1]]
    assert list(store.keys("ab" + "2" * 10)) == [keys[1]]
    assert list(store.keys("ff")) == []
