"""Helpers for tests of whole libraries on the real servers: a fresh PostgreSQL database and
S3 prefix per test, what the catalog and the bucket hold, and `assetloom` as a subprocess.

The `remote` fixture of each test module builds a `Remote` with `remote_library(...)`; the
AWS_* variables are set in os.environ (as a user's shell would), so subprocesses see them too.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from tests.backends.pg_database import fresh_database
from tests.backends.servers import S3Server

CLI_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Remote:
    catalog: str
    """The PostgreSQL URL as a user gives it to `init --catalog` (postgresql://...)."""
    blobs: str
    """The `init --blobs` location, s3://BUCKET/PREFIX."""
    s3: S3Server
    engine: sa.Engine
    """The test's own connection to the catalog database (reads, and a row written by hand)."""

    @property
    def prefix(self) -> str:
        return self.blobs.split("/", 3)[3]

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]

    def execute(self, sql: str, **params: Any) -> None:
        """One statement in a transaction of its own (rows another host would have written)."""
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql), params)

    def asset_shas(self) -> list[str]:
        """sha256 of every asset row (a list: a file registered twice would show twice)."""
        return [r[0] for r in self.rows("SELECT sha256 FROM assets")]

    def pending(self) -> dict[str, int | None]:
        """pending_blobs: sha256 -> job id."""
        return {r[0]: r[1] for r in self.rows("SELECT sha256, job_id FROM pending_blobs")}

    @cached_property
    def client(self) -> Any:
        """One boto3 client for the test's own listings and HEADs."""
        return self.s3.client()

    def keys(self, under: str) -> list[str]:
        """Object keys below PREFIX/<under>/ ("blobs" or "derived")."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.s3.bucket, Prefix=f"{self.prefix}/{under}/"
        )
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def blob_objects(self) -> set[str]:
        """sha256 of every original in the bucket (keys PREFIX/blobs/ab/cd/<sha256>)."""
        return {k.rsplit("/", 1)[1] for k in self.keys("blobs")}

    def derived_objects(self) -> set[str]:
        """sha256 of every asset with derived files (keys PREFIX/derived/<sha256>/<name>)."""
        return {k.split("/")[-2] for k in self.keys("derived")}

    def blob_key(self, sha256: str) -> str:
        return f"{self.prefix}/blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def head(self, key: str) -> dict[str, Any] | None:
        """The object's HEAD answer, or None when there is no such object."""
        try:
            return self.client.head_object(Bucket=self.s3.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise


@contextmanager
def remote_library(
    postgres_url: str, s3_bucket: S3Server, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Remote]:
    """A fresh database and S3 prefix; AWS_* set like a user's (for this process and its
    children); the database is dropped afterwards."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_bucket.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_bucket.secret_key)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_bucket.endpoint)
    monkeypatch.setenv("AWS_REGION", s3_bucket.region)
    with fresh_database(postgres_url) as url:
        engine = sa.create_engine(url)
        try:
            yield Remote(
                catalog=url.replace("postgresql+psycopg://", "postgresql://"),
                blobs=f"s3://{s3_bucket.bucket}/lib-{uuid.uuid4().hex[:8]}",
                s3=s3_bucket,
                engine=engine,
            )
        finally:
            engine.dispose()  # before the database is dropped


def cli_args(library: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "assetloom.cli.main", "--library", str(library), *args]


def cli_json(library: Path, *args: str, timeout: float = CLI_TIMEOUT_S) -> Any:
    """`assetloom --library LIB ARGS --json` in a subprocess; its JSON (exit 0 asserted)."""
    done = subprocess.run(
        cli_args(library, *args, "--json"), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
