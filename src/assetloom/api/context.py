"""What every request handler reaches through `request.app.state.services`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from assetloom.accounts import AccountService
from assetloom.accounts.ratelimit import LoginRateLimiter
from assetloom.api.config import ServerSettings
from assetloom.api.gate import LibraryGate
from assetloom.api.metrics import Metrics
from assetloom.api.uploads import UploadLimits
from assetloom.library import Library


@dataclass
class Services:
    lib: Library
    accounts: AccountService
    settings: ServerSettings
    gate: LibraryGate = field(default_factory=LibraryGate)
    metrics: Metrics = field(default_factory=Metrics)
    ready: threading.Event = field(default_factory=threading.Event)
    warm_up_error: str | None = None
    limiter: LoginRateLimiter = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.limiter = LoginRateLimiter(
            per_user=s.login_failures_per_user,
            per_client=s.login_failures_per_client,
            window_s=s.login_window_s,
        )

    @property
    def uploads_root(self) -> Path:
        from assetloom.api.uploads import uploads_root

        return uploads_root(self.lib.root)

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
