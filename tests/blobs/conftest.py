"""S3 helpers for the blob tests: each test writes under a key prefix of its own, emptied after it
(objects and unfinished multipart uploads), so tests never see each other's keys."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.backends.servers import S3Server


@pytest.fixture
def s3_client(s3_bucket: S3Server) -> Iterator[Any]:
    """A plain boto3 client with botocore's default checksums (what a caller might pass in)."""
    client = s3_bucket.client()
    yield client
    client.close()


@pytest.fixture
def s3_prefix(s3_bucket: S3Server, s3_client: Any) -> Iterator[str]:
    prefix = f"test-blobs-{uuid.uuid4().hex}"
    yield prefix
    empty_prefix(s3_client, s3_bucket.bucket, prefix + "/")


def empty_prefix(client: Any, bucket: str, prefix: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", ()):
            client.delete_object(Bucket=bucket, Key=item["Key"])
    for upload in uploads_under(client, bucket, prefix):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])


def uploads_under(client: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Multipart uploads started and neither completed nor aborted."""
    return list(client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", []))


def use_s3_env(monkeypatch: pytest.MonkeyPatch, server: S3Server, **override: str) -> None:
    """The standard AWS variables for `server` (what `S3BlobStore.from_url` reads), isolated from
    a developer's own AWS profile, config files and instance metadata."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    values = {
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_ENDPOINT_URL_S3": server.endpoint,
        "AWS_REGION": server.region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    values.update(override)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
