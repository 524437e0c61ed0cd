"""How `assetloom serve` runs the app under uvicorn: connection limits and a header timeout.

uvicorn bounds a request head's size (`h11_max_incomplete_event_size`), idle kept-alive
connections (`timeout_keep_alive`) and connections at once (`limit_concurrency`), but it
waits forever for the head of a request that has not finished arriving: 1,000 half-sent
requests stayed open indefinitely. `HeaderTimeoutProtocol` is uvicorn's h11 protocol plus
that one timer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from assetloom.api.config import ServerSettings

log = logging.getLogger("assetloom.server.uvicorn")


class HeaderTimeoutProtocol(H11Protocol):
    """Closes a connection whose request head is not complete `header_timeout_s` after the
    connection opened, or after the first byte of the next request on a kept-alive one.

    The timer is not restarted by later bytes, so trickling a header line now and then
    (slowloris) does not keep a connection open either. Bodies are not timed: a slow upload
    is a legitimate thing on a bad link, and it has already passed authorisation.
    """

    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self._awaiting_head():
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if not self._awaiting_head():
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _awaiting_head(self) -> bool:
        return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _timed_out(self) -> None:
        self._head_timer = None
        if self._awaiting_head():
            log.info("closed a connection that sent no complete request head in time")
            self.transport.close()


def uvicorn_config(
    app: Any, host: str, port: int, settings: ServerSettings, **options: Any
) -> uvicorn.Config:
    """The uvicorn configuration `serve` uses, with the limits from `settings`.

    X-Forwarded-For is handled by the app itself (`create_app` with `trust_proxy`), so
    uvicorn's own proxy handling stays off.
    """
    protocol = type(
        "AssetLoomH11Protocol",
        (HeaderTimeoutProtocol,),
        {"header_timeout_s": settings.header_timeout_s},
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        timeout_keep_alive=settings.keep_alive_s,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        limit_concurrency=settings.max_connections,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        **options,
    )
