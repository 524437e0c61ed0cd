"""Smoke test of the real backend servers: pgvector in PostgreSQL, S3 semantics in SeaweedFS.

These are the server behaviours the PostgreSQL catalog and the S3 blob store (issue 10) rely on.
"""

from __future__ import annotations

import base64
import hashlib
import math
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from pgvector.sqlalchemy import Vector

from tests.backends import servers
from tests.backends.servers import S3Server, Services

MiB = 1024 * 1024


@pytest.fixture
def engine(postgres_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(postgres_url, pool_pre_ping=True)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def s3(s3_bucket: S3Server) -> Iterator[Any]:
    client = s3_bucket.client()
    yield client
    client.close()


@pytest.fixture
def prefix(s3_bucket: S3Server, s3: Any) -> Iterator[str]:
    """A key prefix of this test's own; what it wrote there is deleted afterwards."""
    prefix = f"smoke-{uuid.uuid4().hex}/"
    yield prefix
    listed = s3.list_objects_v2(Bucket=s3_bucket.bucket, Prefix=prefix).get("Contents", [])
    for item in listed:
        s3.delete_object(Bucket=s3_bucket.bucket, Key=item["Key"])


def error_code(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


# --- PostgreSQL + pgvector ----------------------------------------------------------------------


def test_pgvector_hnsw_cosine(engine: sa.Engine) -> None:
    name = f"smoke_vectors_{uuid.uuid4().hex[:12]}"
    metadata = sa.MetaData()
    table = sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("embedding", Vector(3), nullable=False),
    )
    sa.Index(
        f"{name}_hnsw",
        table.c.embedding,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
        version = conn.execute(
            sa.text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        ).scalar_one()
        assert version
        metadata.create_all(conn)
    try:
        rows = [
            {"id": 1, "label": "east", "embedding": [1.0, 0.0, 0.0]},
            {"id": 2, "label": "north-east", "embedding": [1.0, 1.0, 0.0]},
            {"id": 3, "label": "north", "embedding": [0.0, 1.0, 0.0]},
            {"id": 4, "label": "up", "embedding": [0.0, 0.0, 1.0]},
            {"id": 5, "label": "long east", "embedding": [9.0, 0.5, 0.0]},
        ]
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)
        query = [2.0, 0.1, 0.0]
        distance = table.c.embedding.cosine_distance(query)
        nearest = sa.select(table.c.label, distance.label("distance")).order_by(distance).limit(3)
        with engine.begin() as conn:
            # Five rows: force the planner onto the HNSW index, and check it really uses it.
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            explain = sa.text(
                f"EXPLAIN SELECT label FROM {name} "
                "ORDER BY embedding <=> CAST(:q AS vector) LIMIT 3"
            )
            plan = "\n".join(conn.execute(explain, {"q": str(query)}).scalars())
            assert f"{name}_hnsw" in plan, plan
            found = conn.execute(nearest).all()
        assert [label for label, _ in found] == ["long east", "east", "north-east"]
        vectors = {row["label"]: row["embedding"] for row in rows}
        for label, got in found:
            assert got == pytest.approx(cosine_distance(query, vectors[label]), abs=1e-6)
    finally:
        with engine.begin() as conn:
            metadata.drop_all(conn)


def cosine_distance(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return 1.0 - dot / (math.hypot(*a) * math.hypot(*b))


# --- S3 (SeaweedFS) -----------------------------------------------------------------------------


def test_put_if_none_match(s3: Any, s3_bucket: S3Server, prefix: str) -> None:
    key = prefix + "once"
    s3.put_object(Bucket=s3_bucket.bucket, Key=key, Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=s3_bucket.bucket, Key=key, Body=b"second", IfNoneMatch="*")
    assert error_code(caught.value) == ("PreconditionFailed", 412)
    body = s3.get_object(Bucket=s3_bucket.bucket, Key=key)["Body"].read()
    assert body == b"first"


def test_bad_content_md5_stores_nothing(s3: Any, s3_bucket: S3Server, prefix: str) -> None:
    key = prefix + "bad-digest"
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=s3_bucket.bucket, Key=key, Body=b"payload", ContentMD5=wrong)
    assert error_code(caught.value)[0] == "BadDigest"
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=s3_bucket.bucket, Key=key)
    assert error_code(missing.value)[1] == 404


def test_multipart_round_trip(s3: Any, s3_bucket: S3Server, prefix: str) -> None:
    key = prefix + "multipart"
    parts = [bytes(range(256)) * (5 * MiB // 256), b"the small last part"]
    upload = s3.create_multipart_upload(Bucket=s3_bucket.bucket, Key=key)["UploadId"]
    try:
        done = []
        for number, data in enumerate(parts, start=1):
            answer = s3.upload_part(
                Bucket=s3_bucket.bucket, Key=key, UploadId=upload, PartNumber=number, Body=data
            )
            assert answer["ETag"].strip('"') == hashlib.md5(data).hexdigest()
            done.append({"PartNumber": number, "ETag": answer["ETag"]})
        s3.complete_multipart_upload(
            Bucket=s3_bucket.bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done}
        )
    except BaseException:
        s3.abort_multipart_upload(Bucket=s3_bucket.bucket, Key=key, UploadId=upload)
        raise
    got = s3.get_object(Bucket=s3_bucket.bucket, Key=key)
    assert got["Body"].read() == b"".join(parts)
    digests = b"".join(hashlib.md5(data).digest() for data in parts)
    assert got["ETag"].strip('"') == f"{hashlib.md5(digests).hexdigest()}-2"


def test_presigned_get(s3: Any, s3_bucket: S3Server, prefix: str) -> None:
    key = prefix + "presigned.txt"
    s3.put_object(Bucket=s3_bucket.bucket, Key=key, Body=b"shared for a minute")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": s3_bucket.bucket, "Key": key}, ExpiresIn=60
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy
    with opener.open(url, timeout=10) as response:
        assert response.status == 200
        assert response.read() == b"shared for a minute"

    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    signature = query["X-Amz-Signature"][0]
    query["X-Amz-Signature"] = [signature[:-1] + ("0" if signature[-1] != "0" else "1")]
    tampered = parts._replace(query=urllib.parse.urlencode(query, doseq=True)).geturl()
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(tampered, timeout=10)
    assert caught.value.code == 403


# --- the servers themselves ---------------------------------------------------------------------


def server_pids(services: Services, found: list[servers.Listener]) -> set[int]:
    """PIDs of the two servers: from the state file, or whoever listens on their ports."""
    pids = set(services.pids)
    ports = {
        sa.engine.make_url(services.postgres_url).port,
        urllib.parse.urlsplit(services.s3.endpoint).port,
    }
    pids |= {listener.pid for listener in found if listener.port in ports}
    return pids


def test_servers_listen_on_loopback_only(backend_services: Services) -> None:
    endpoint = urllib.parse.urlsplit(backend_services.s3.endpoint)
    if endpoint.hostname not in ("127.0.0.1", "localhost"):
        pytest.skip(f"S3 endpoint {endpoint.hostname} is not on this machine")
    found = servers.listeners()
    if found is None:
        pytest.skip("`ss` is not available (Debian package iproute2)")
    pids = server_pids(backend_services, found)
    if not pids:
        pytest.skip("cannot see the servers' PIDs (they may run as another user)")
    own = [listener for listener in found if listener.pid in pids]
    assert own, f"no listeners found for PIDs {sorted(pids)}"
    beyond = [f"{x.protocol} {x.local} (pid {x.pid})" for x in own if not x.loopback_v4]
    assert not beyond, f"listening beyond 127.0.0.1: {beyond}"


def test_services_script_describes_them(backend_services: Services) -> None:
    if backend_services.directory is None:
        pytest.skip(f"servers came from the environment without {servers.DIR_VAR}")
    status = servers.run_script("status", str(backend_services.directory), timeout=60)
    assert status.returncode == 0, status.stderr
    assert "postgres   running" in status.stdout
    assert "seaweedfs  running" in status.stdout
    env = servers.run_script("env", str(backend_services.directory), timeout=60)
    assert env.returncode == 0, env.stderr
    exported = servers.parse_exports(env.stdout)
    assert exported[servers.POSTGRES_URL_VAR] == backend_services.postgres_url
    assert exported["AWS_ENDPOINT_URL_S3"] == backend_services.s3.endpoint
    assert exported[servers.S3_BUCKET_VAR] == backend_services.s3.bucket
    assert exported["AWS_REGION"] == backend_services.s3.region
