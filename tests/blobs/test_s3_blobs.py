"""What only the S3 store has to get right: conditional and verified puts (single part and
multipart), presigned links, temporary local copies, and errors a user can act on, against a
real S3 server (SeaweedFS on loopback, from the `s3_bucket` fixture)."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from assetloom.blobs.base import BlobMissingError, BlobStoreError
from assetloom.errors import BadInputError
from tests.backends.servers import S3Server
from tests.blobs.conftest import uploads_under, use_s3_env

s3 = pytest.importorskip("assetloom.blobs.s3")
S3BlobStore = s3.S3BlobStore

MiB = 1 << 20


@pytest.fixture
def store(s3_bucket: S3Server, s3_prefix: str, monkeypatch: pytest.MonkeyPatch) -> S3BlobStore:
    """The store as deployments make it: from the URL and the standard AWS variables."""
    use_s3_env(monkeypatch, s3_bucket)
    return S3BlobStore.from_url(f"s3://{s3_bucket.bucket}/{s3_prefix}/blobs")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """20 MiB of random bytes: three parts of 8 MiB, 8 MiB and 4 MiB."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    data = os.urandom(20 * MiB)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def _file(tmp_path: Path, data: bytes, name: str) -> tuple[Path, str]:
    path = tmp_path / name
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sha_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


# --- construction -------------------------------------------------------------------------------


def test_from_url_builds_a_bounded_sigv4_path_style_client(
    store: S3BlobStore, s3_bucket: S3Server, s3_prefix: str
) -> None:
    assert store.describe() == f"s3://{s3_bucket.bucket}/{s3_prefix}/blobs"
    config = store.client.meta.config
    assert config.signature_version == "s3v4"
    assert config.s3 == {"addressing_style": "path"}
    assert config.retries["total_max_attempts"] == 3
    assert (config.connect_timeout, config.read_timeout) == (5, 60)
    assert store.client.meta.endpoint_url == s3_bucket.endpoint  # read from the environment
    store.put_bytes("a" * 64, b"round trip")
    assert store.read_bytes("a" * 64) == b"round trip"
    name = f"{s3_prefix}/blobs/aa/aa/{'a' * 64}"
    assert store.object_key("a" * 64) == name
    got = store.client.get_object(Bucket=s3_bucket.bucket, Key=name)["Body"].read()
    assert got == b"round trip"


@pytest.mark.parametrize("url", ["http://bucket/prefix", "s3:///prefix", "s3://bucket/p?x=1"])
def test_from_url_refuses_what_is_not_an_s3_url(url: str) -> None:
    with pytest.raises(BadInputError, match="not an S3 blob store URL"):
        S3BlobStore.from_url(url)


# --- puts ---------------------------------------------------------------------------------------


def test_a_put_of_an_existing_key_does_not_overwrite_it(
    store: S3BlobStore, s3_bucket: S3Server, tmp_path: Path
) -> None:
    original, sha = _file(tmp_path, b"the original bytes", "original.bin")
    other, _ = _file(tmp_path, b"different bytes under the same key", "other.bin")
    store.put_file(sha, original, sha256=sha)
    store.put_file(sha, other, sha256=None)  # If-None-Match: * -> 412 -> the contract's no-op
    assert store.read_bytes(sha) == b"the original bytes"
    raw = store.client.get_object(Bucket=s3_bucket.bucket, Key=store.object_key(sha))
    assert raw["Body"].read() == b"the original bytes"


def test_wrong_content_for_a_content_key_stores_nothing(
    store: S3BlobStore,
    s3_bucket: S3Server,
    s3_prefix: str,
    tmp_path: Path,
    big_file: tuple[Path, str],
) -> None:
    small, _ = _file(tmp_path, b"not what the key says", "small.bin")
    wrong = "0" * 64
    for source in (small, big_file[0]):  # a single PUT, then a three-part upload
        with pytest.raises(BadInputError, match="changed while it was being added"):
            store.put_file(wrong, source, sha256=wrong)
    assert list(store.keys()) == []
    listed = store.client.list_objects_v2(Bucket=s3_bucket.bucket, Prefix=f"{s3_prefix}/")
    assert listed.get("KeyCount", 0) == 0
    assert uploads_under(store.client, s3_bucket.bucket, f"{s3_prefix}/") == []  # aborted


def test_a_large_file_goes_multipart_and_round_trips(
    store: S3BlobStore, s3_bucket: S3Server, big_file: tuple[Path, str]
) -> None:
    source, sha = big_file
    store.put_file(sha, source, sha256=sha, durable=False)
    store.sync()
    head = store.client.head_object(Bucket=s3_bucket.bucket, Key=store.object_key(sha))
    assert head["ETag"].strip('"').endswith("-3")  # 8 + 8 + 4 MiB parts
    assert store.size(sha) == 20 * MiB
    assert hashlib.sha256(store.read_bytes(sha)).hexdigest() == sha
    with store.local_path(sha) as path:
        assert _sha_of(path) == sha
    data = source.read_bytes()
    with store.open(sha) as f:
        f.seek(9 * MiB + 7)  # past the first buffer: a Range GET of the same version
        assert f.read(100) == data[9 * MiB + 7 : 9 * MiB + 107]
    store.put_file(sha, source, sha256=sha)  # exists: a HEAD, and no upload at all
    assert uploads_under(store.client, s3_bucket.bucket, store.object_key(sha)) == []


def test_a_multipart_put_that_loses_the_race_keeps_the_winner(
    store: S3BlobStore, s3_bucket: S3Server, s3_client: Any, big_file: tuple[Path, str]
) -> None:
    source, sha = big_file
    name = store.object_key(sha)

    def another_put_first(**_: Any) -> None:
        s3_client.put_object(Bucket=s3_bucket.bucket, Key=name, Body=b"the winner")

    store.client.meta.events.register_first(
        "before-call.s3.CompleteMultipartUpload", another_put_first
    )
    store.put_file(sha, source, sha256=sha)  # complete with If-None-Match: * gets 412: no-op
    assert store.read_bytes(sha) == b"the winner"
    assert uploads_under(store.client, s3_bucket.bucket, name) == []


def test_a_blob_replaced_while_open_is_never_spliced(store: S3BlobStore) -> None:
    key = "d" * 64 + "/preview.webp"
    store.put_bytes(key, b"1" * (2 * MiB))
    with store.open(key) as f:
        assert f.read(10) == b"1" * 10
        store.put_bytes(key, b"2" * (2 * MiB))
        f.seek(int(1.5 * MiB))  # beyond what is buffered: the next read re-opens the stream
        with pytest.raises(BlobStoreError, match="replaced while it was being read"):
            f.read(10)


# --- listing and deleting -----------------------------------------------------------------------


def test_listing_and_prefix_delete_go_page_by_page(
    s3_bucket: S3Server, s3_prefix: str, s3_client: Any
) -> None:
    store = S3BlobStore(s3_bucket.bucket, f"{s3_prefix}/derived", s3_client, fan_out=False)
    store.page_size = 2  # five keys: three pages, three delete batches
    a, b = "a" * 64, "b" * 64
    names = [f"{a}/{n}" for n in ("thumb.webp", "preview.webp", "t.txt", "x.json", "y.json")]
    for key in [*names, f"{b}/thumb.webp"]:
        store.put_bytes(key, key.encode())
    assert sorted(store.keys(a)) == sorted(names)
    store.delete_prefix(f"{a}/")
    assert list(store.keys()) == [f"{b}/thumb.webp"]
    with pytest.raises(BadInputError, match="refusing to delete every blob"):
        store.delete_prefix("")
    store.delete(f"{a}/gone")  # missing: fine


# --- links and local copies ---------------------------------------------------------------------


def test_a_presigned_url_serves_the_bytes_until_tampered_with(store: S3BlobStore) -> None:
    key = "e" * 64
    store.put_bytes(key, b"shared for a minute")
    url = store.url(key, expires_s=60, filename="été 2024.txt", mime="text/plain")
    assert url is not None
    with _opener().open(url, timeout=10) as response:
        assert response.status == 200
        assert response.read() == b"shared for a minute"
        assert response.headers["Content-Type"] == "text/plain"
        assert response.headers["Content-Disposition"] == (
            "inline; filename=\"_t_ 2024.txt\"; filename*=UTF-8''%C3%A9t%C3%A9%202024.txt"
        )

    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    signature = query["X-Amz-Signature"][0]
    query["X-Amz-Signature"] = [signature[:-1] + ("0" if signature[-1] != "0" else "1")]
    tampered = parts._replace(query=urllib.parse.urlencode(query, doseq=True)).geturl()
    with pytest.raises(urllib.error.HTTPError) as caught:
        _opener().open(tampered, timeout=10)
    assert caught.value.code == 403

    with pytest.raises(BadInputError, match="presigned S3 URL lives"):
        store.url(key, expires_s=8 * 24 * 3600)


def test_content_disposition() -> None:
    assert s3.content_disposition("a.jpg") == 'inline; filename="a.jpg"'
    assert s3.content_disposition('a"b\\.jpg') == (
        "inline; filename=\"a_b_.jpg\"; filename*=UTF-8''a%22b%5C.jpg"
    )
    assert s3.content_disposition("x\r\ny.jpg") == (
        "inline; filename=\"x__y.jpg\"; filename*=UTF-8''x%0D%0Ay.jpg"
    )


def test_local_path_is_a_temporary_copy_gone_after_the_block(
    store: S3BlobStore, tmp_path: Path
) -> None:
    key = "f" * 64 + "/thumb.webp"
    store.put_bytes(key, b"webp bytes")
    store.temp_dir = tmp_path
    with store.local_path(key) as path:
        assert path.is_file() and path.parent == tmp_path and path.suffix == ".webp"
        assert path.read_bytes() == b"webp bytes"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.exists()
    with pytest.raises(RuntimeError), store.local_path(key) as failed:
        raise RuntimeError("the caller's code failed")
    assert not failed.exists()
    with pytest.raises(BlobMissingError), store.local_path("0" * 64):
        pass
    assert list(tmp_path.iterdir()) == []


# --- errors a user can act on -------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrong", [{"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, {"AWS_ACCESS_KEY_ID": "AKIANOSUCHKEY"}]
)
def test_wrong_credentials_get_a_clear_error(
    s3_bucket: S3Server, s3_prefix: str, monkeypatch: pytest.MonkeyPatch, wrong: dict[str, str]
) -> None:
    use_s3_env(monkeypatch, s3_bucket, **wrong)
    store = S3BlobStore.from_url(f"s3://{s3_bucket.bucket}/{s3_prefix}", max_attempts=1)
    refused = f"S3 refused the credentials for s3://{s3_bucket.bucket}/{s3_prefix}"
    with pytest.raises(BlobStoreError, match=refused) as caught:
        store.put_bytes("a" * 64, b"x")
    assert "AWS_ACCESS_KEY_ID" in str(caught.value)
    with pytest.raises(BlobStoreError, match=refused):
        store.exists("a" * 64)  # a 403 is not "missing"
    with pytest.raises(BlobStoreError, match=refused):
        list(store.keys())


def test_an_unreachable_endpoint_gets_a_clear_error_quickly(
    s3_bucket: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    use_s3_env(monkeypatch, s3_bucket, AWS_ENDPOINT_URL_S3=endpoint)
    store = S3BlobStore.from_url("s3://assetloom-test/x", connect_timeout=1, max_attempts=1)
    started = time.monotonic()
    with pytest.raises(BlobStoreError, match=f"cannot reach the S3 endpoint {endpoint}") as caught:
        store.exists("a" * 64)
    assert caught.value.hint is not None and "AWS_ENDPOINT_URL_S3" in caught.value.hint
    with pytest.raises(BlobStoreError, match="cannot reach"):
        store.put_bytes("a" * 64, b"x")
    assert time.monotonic() - started < 10


def test_every_upload_carries_content_md5_and_puts_are_conditional(
    store: S3BlobStore, tmp_path: Path, big_file: tuple[Path, str]
) -> None:
    """The server checks Content-MD5 (the smoke test in tests/backends shows it refuses a wrong
    one), so every body we send must carry it; put_file's writes must carry If-None-Match."""
    sent: list[tuple[str, dict[str, str]]] = []

    def record(request: Any, event_name: str, **_: Any) -> None:
        headers = {
            k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
        }
        sent.append((event_name.rsplit(".", 1)[-1], headers))

    store.client.meta.events.register("before-send.s3", record)
    small, sha = _file(tmp_path, b"small", "small.bin")
    store.put_file(sha, small, sha256=sha)
    store.put_bytes(f"{sha}/thumb.webp", b"thumb")
    store.put_file(big_file[1], big_file[0], sha256=big_file[1])
    bodies = [(op, h) for op, h in sent if op in ("PutObject", "UploadPart")]
    assert [op for op, _ in bodies] == [
        "PutObject",
        "PutObject",
        "UploadPart",
        "UploadPart",
        "UploadPart",
    ]
    assert all("content-md5" in h for _, h in bodies)
    conditional = {op: h.get("if-none-match") for op, h in sent if op != "UploadPart"}
    assert conditional["CompleteMultipartUpload"] == "*"
    assert [h.get("if-none-match") for op, h in bodies if op == "PutObject"] == ["*", None]
