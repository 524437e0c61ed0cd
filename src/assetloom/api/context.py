"""What every request handler reaches through `request.app.state.services`."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request

from assetloom.accounts import AccountService
from assetloom.accounts.ratelimit import LoginRateLimiter
from assetloom.api.config import ServerSettings
from assetloom.api.metrics import Metrics
from assetloom.api.queries import QueryLimits, check_query_files
from assetloom.api.uploads import (
    Upload,
    UploadedFile,
    UploadLimits,
    UploadStaging,
    receive,
    uploads_root,
)
from assetloom.app.library import Library
from assetloom.rwlock import ReadWriteLock

T = TypeVar("T")


@dataclass
class Services:
    lib: Library
    accounts: AccountService
    settings: ServerSettings
    metrics: Metrics = field(default_factory=Metrics)
    ready: threading.Event = field(default_factory=threading.Event)
    warm_up_error: str | None = None
    limiter: LoginRateLimiter = field(init=False)
    staging: UploadStaging = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self._limiters: dict[str, anyio.CapacityLimiter] = {}
        self.limiter = LoginRateLimiter(
            per_user=s.login_failures_per_user,
            per_account=s.login_failures_per_account,
            per_client=s.login_failures_per_client,
            window_s=s.login_window_s,
        )
        self.staging = UploadStaging(uploads_root(self.lib.root))

    async def compute(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU-heavy library reads (query encoding, verify) in a thread of their own.

        At most `compute_slots` run at once, about one per core: dozens at once on a small
        machine only make each slower. Waiting happens in the event loop, holding no thread,
        so cheap requests (thumbnails, lists) are never stuck behind queued searches.
        """
        return await self._run("compute", self.settings.compute_slots, fn, *args)

    async def ingest(self, fn: Callable[..., T], *args: Any) -> T:
        """Run an upload's ingest (decode, fingerprints, embeddings, commit), `ingest_slots`
        at once, so a burst of uploads cannot take every core from searches."""
        return await self._run("ingest", self.settings.ingest_slots, fn, *args)

    async def _run(self, pool: str, slots: int, fn: Callable[..., T], *args: Any) -> T:
        if pool not in self._limiters:
            self._limiters[pool] = anyio.CapacityLimiter(slots)
        return await anyio.to_thread.run_sync(partial(fn, *args), limiter=self._limiters[pool])

    def queue_depth(self, pool: str) -> int:
        """Jobs running or waiting in `pool` ("compute" or "ingest"), for /metrics."""
        limiter = self._limiters.get(pool)
        if limiter is None:
            return 0
        stats = limiter.statistics()
        return stats.borrowed_tokens + stats.tasks_waiting

    @property
    def gate(self) -> ReadWriteLock:
        """The library's index lock: request threads that search hold it for reading."""
        return self.lib.index_lock

    @asynccontextmanager
    async def staged_upload(self, request: Request, *fields: str) -> AsyncIterator[Upload]:
        """The request's files on disk (in `fields` only) for the block, then deleted."""
        folder = self.staging.new_folder()
        try:
            yield await receive(request, folder, self.upload_limits, frozenset(fields))
        finally:
            await anyio.to_thread.run_sync(self.staging.discard, folder)

    def check_query(self, files: list[UploadedFile]) -> None:
        """Refuse query uploads too big to decode safely (413), in the request's thread."""
        s = self.settings
        limits = QueryLimits(
            s.query_max_pixels, s.query_max_text_bytes, self.lib.settings.max_image_pixels
        )
        check_query_files(files, limits)

    @property
    def uploads_root(self) -> Path:
        return self.staging.root

    @property
    def upload_limits(self) -> UploadLimits:
        return UploadLimits(
            max_file_bytes=self.lib.settings.max_file_bytes,
            max_files=self.settings.max_upload_files,
            max_request_bytes=self.settings.max_request_bytes,
        )


def get_services(request: Request) -> Services:
    return request.app.state.services


Svc = Annotated[Services, Depends(get_services)]
