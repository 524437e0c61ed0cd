"""Fixtures for tests of the backends: a real PostgreSQL + pgvector URL and a real S3 bucket.

A pytest plugin (tests/conftest.py names it in `pytest_plugins`), so tests anywhere under tests/
(tests/backends, tests/blobs, ...) share one set of servers per session.

`postgres_url` and `s3_bucket` take the servers from the environment (ASSETLOOM_TEST_POSTGRES_URL,
AWS_* and ASSETLOOM_TEST_S3_BUCKET) when set; otherwise the session starts its own with
scripts/services.sh in a temporary directory and stops them at its end. They skip, with the
reason, when the servers cannot start; with ASSETLOOM_REQUIRE_BACKENDS=1 or CI set, they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import NoReturn

import pytest

from tests.backends import servers
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
