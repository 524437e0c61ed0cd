"""Fixtures for tests of the backends: a real PostgreSQL + pgvector URL, a real S3 bucket and a
real Ray cluster.

A pytest plugin (tests/conftest.py names it in `pytest_plugins`), so tests anywhere under tests/
(tests/backends, tests/blobs, ...) share one set of servers per session.

`postgres_url` and `s3_bucket` take the servers from the environment (ASSETLOOM_TEST_POSTGRES_URL,
AWS_* and ASSETLOOM_TEST_S3_BUCKET) when set; otherwise the session starts its own with
scripts/services.sh in a temporary directory and stops them at its end. They skip, with the
reason, when the servers cannot start; with ASSETLOOM_REQUIRE_BACKENDS=1 or CI set, they fail.
`ray_address` does the same for a Ray head (ASSETLOOM_TEST_RAY_ADDRESS), started on its own
since it holds ~600 MB: only a session with a test that asks for it pays for one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import NoReturn

import pytest

from tests.backends import ray_head, servers
from tests.backends.ray_head import RayCluster
from tests.backends.servers import S3Server, Services, ServicesError


def _unavailable(reason: str) -> NoReturn:
    required = os.environ.get(servers.REQUIRE_VAR) == "1"
    if required or os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"backend servers required but unavailable: {reason}", pytrace=False)
    pytest.skip(f"backend servers unavailable: {reason}")


@pytest.fixture(scope="session")
def backend_services() -> Iterator[Services]:
    """Both servers: from the environment, or started (and stopped) by this session."""
    problem = None
    try:
        services = servers.from_env(os.environ)
    except ServicesError as error:
        problem = str(error)
    if problem:
        _unavailable(problem)
    if services is not None:
        yield services
        return
    reason = servers.missing_requirements()
    if reason:
        _unavailable(reason)
    directory = servers.make_directory()
    try:
        services = servers.start(directory)
    except ServicesError as error:
        problem = str(error)
    if problem:
        shutil.rmtree(directory, ignore_errors=True)
        _unavailable(problem)
    try:
        yield services
    finally:
        try:
            servers.stop(directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(backend_services: Services) -> str:
    """SQLAlchemy URL of a PostgreSQL database where `CREATE EXTENSION vector` works."""
    return backend_services.postgres_url


@pytest.fixture(scope="session")
def s3_bucket(backend_services: Services) -> S3Server:
    """An S3 endpoint, its key and an existing bucket."""
    return backend_services.s3


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A Ray head on loopback: from the environment, or started (and stopped) by this session."""
    cluster = ray_head.from_env(os.environ)
    if cluster is not None:
        yield cluster
        return
    reason = ray_head.missing_requirements()
    if reason:
        _unavailable(reason)
    directory = servers.make_directory()
    problem = None
    try:
        cluster = ray_head.start(directory)
    except ServicesError as error:
        problem = str(error)
    if problem or cluster is None:
        shutil.rmtree(directory, ignore_errors=True)
        _unavailable(problem or "no cluster")
    try:
        yield cluster
    finally:
        try:
            servers.stop(directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_address(ray_cluster: RayCluster) -> str:
    """HOST:PORT of the Ray head's GCS, for executor = "ray:HOST:PORT"."""
    return ray_cluster.address
