"""An app under a real uvicorn on a free loopback port, in a thread: what the browser, streaming
and server-limit tests talk to. One place for the start, the wait and the stop."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(config: uvicorn.Config, *, start_s: float = 30, stop_s: float = 15) -> Iterator[str]:
    """Serve `config` until the block ends; yields the base URL."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_s
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://{config.host}:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=stop_s)


@contextmanager
def serving(app: Any, *, lifespan: str = "auto", **waits: float) -> Iterator[str]:
    """`app` on 127.0.0.1 at a free port, without uvicorn's logging config; yields the URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_config=None, lifespan=lifespan
    )
    with running(config, **waits) as url:
        yield url
