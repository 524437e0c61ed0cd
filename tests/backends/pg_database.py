"""A PostgreSQL database of a test's own on the `postgres_url` server, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url


@contextmanager
def fresh_database(server_url: str, *, lc_ctype: str | None = None) -> Iterator[str]:
    """The URL of a new, uniquely named database; `lc_ctype` picks its character classes."""
    name = f"assetloom_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    options = f" TEMPLATE template0 LC_CTYPE '{lc_ctype}'" if lc_ctype else ""
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{options}')
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
