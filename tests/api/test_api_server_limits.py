"""Issue 9, points 6 and 7: connection limits under a real uvicorn; leftovers swept.

The uvicorn tests listen on 127.0.0.1 only, on a free port, with a short header timeout so a
half-sent request is closed quickly; they assert that the server closes it, not how fast.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from assetloom.api.config import ServerSettings
from assetloom.app.library import Library
from assetloom.server.app import create_app
from assetloom.server.uvicorn import uvicorn_config
from assetloom.store.schema import PendingBlobRow
from tests.api.conftest import Env, make_library
from tests.live_app import free_port, running

HEADER_TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, ServerSettings]]:
    root = tmp_path_factory.mktemp("limits") / "lib"
    make_library(root)
    settings = ServerSettings(header_timeout_s=HEADER_TIMEOUT_S, max_header_bytes=8192)
    port = free_port()
    config = uvicorn_config(create_app(root, settings), "127.0.0.1", port, settings)
    config.log_config = None
    with running(config):
        yield port, settings


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server closes the connection (EOF or reset); False if it stays open."""
    sock.settimeout(20)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_config_carries_the_limits() -> None:
    settings = ServerSettings(
        keep_alive_s=7, max_header_bytes=12_000, max_connections=321, header_timeout_s=3
    )
    config = uvicorn_config(object(), "127.0.0.1", 8420, settings)  # type: ignore[arg-type]
    assert config.timeout_keep_alive == 7
    assert config.h11_max_incomplete_event_size == 12_000
    assert config.limit_concurrency == 321
    assert config.proxy_headers is False, "the app reads X-Forwarded-For itself"
    assert config.server_header is False


def test_half_sent_request_is_closed(server: tuple[int, ServerSettings]) -> None:
    port, _ = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        assert _closed_by_server(sock)


def test_a_silent_connection_is_closed(server: tuple[int, ServerSettings]) -> None:
    port, _ = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert _closed_by_server(sock)


def test_trickled_headers_are_closed(server: tuple[int, ServerSettings]) -> None:
    """A byte now and then does not keep the connection open (slowloris)."""
    port, _ = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        closed = False
        for _ in range(200):
            try:
                sock.sendall(b"X-A: b\r\n")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(HEADER_TIMEOUT_S / 5)
        assert closed or _closed_by_server(sock)


def test_half_sent_second_request_on_a_kept_alive_connection_is_closed(
    server: tuple[int, ServerSettings],
) -> None:
    port, _ = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        sock.settimeout(20)
        first = b""
        while b'"ok"' not in first:
            first += sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: loc")
        assert _closed_by_server(sock)


def test_complete_requests_are_served_and_huge_headers_refused(
    server: tuple[int, ServerSettings],
) -> None:
    port, settings = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        sock.settimeout(20)
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 200")
    with socket.create_connection(("127.0.0.1", port)) as sock:
        # A head still incomplete past max_header_bytes: uvicorn stops buffering it.
        big = b"X-Big: " + b"a" * (settings.max_header_bytes + 100)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n" + big)
        sock.settimeout(20)
        assert sock.recv(4096).startswith(b"HTTP/1.1 400")


# ---------------------------------------------------------------------- 7. sweeping


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _stage_leftover(root: Path, pid: int) -> Path:
    """What a server killed mid-upload leaves: a staged file in a folder of its own."""
    folder = root / "tmp" / "uploads" / f"up-{pid}-leftover{time.monotonic_ns()}"
    (folder / "0").mkdir(parents=True)
    (folder / "0" / "a.jpg").write_bytes(b"half an upload")
    return folder


def _orphan_blob(lib: Library, pid: int) -> Path:
    """What an add killed between writing a blob and committing its row leaves."""
    data = os.urandom(64)
    sha = hashlib.sha256(data).hexdigest()
    with lib.write_session.begin() as s:
        s.add(PendingBlobRow(sha256=sha, owner_pid=pid, created_at=datetime.now(UTC)))
    lib.blobs.put_bytes(sha, data)
    return lib.blobs.path_for(sha)


def _pending(lib: Library) -> set[str]:
    with lib.read_session() as s:
        return set(s.scalars(select(PendingBlobRow.sha256)))


def _wait_until(done: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + 30
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)
    return done()


def test_leftovers_of_a_dead_server_are_swept_at_start(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    make_library(root)
    dead = _dead_pid()
    staged = _stage_leftover(root, dead)
    live_other = _stage_leftover(root, os.getppid())  # maybe another server's upload in flight
    with Library.open(root) as lib:
        blob = _orphan_blob(lib, dead)
    app = create_app(root, ServerSettings(sweep_s=3600))
    from fastapi.testclient import TestClient

    with TestClient(app):
        assert not staged.exists(), "staged upload of a dead server"
        assert live_other.exists(), "another live process's upload is left alone"
        assert not blob.exists(), "orphan blob of a dead add"
        assert not _pending(app.state.services.lib)


def test_leftovers_are_swept_periodically_but_not_uploads_in_flight(make_env) -> None:  # type: ignore[no-untyped-def]
    env: Env = make_env(sweep_s=0.1)
    svc = env.app.state.services
    lib = svc.lib
    in_flight = svc.staging.new_folder()  # this process's upload, still streaming
    try:
        own_blob = _orphan_blob(lib, os.getpid())  # this process's add, not yet committed
        dead = _dead_pid()
        staged = _stage_leftover(env.root, dead)
        blob = _orphan_blob(lib, dead)
        assert _wait_until(lambda: not staged.exists() and not blob.exists())
        assert _wait_until(lambda: len(_pending(lib)) == 1)
        assert in_flight.exists(), "an upload in flight is never swept"
        assert own_blob.exists(), "an add in flight in this process is never swept"
    finally:
        svc.staging.discard(in_flight)
    assert not in_flight.exists()
