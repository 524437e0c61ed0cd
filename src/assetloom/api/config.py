"""Server settings: how the HTTP interface runs. Library settings stay in `assetloom.toml`."""

from __future__ import annotations

import os

from pydantic import BaseModel, Field


class ServerSettings(BaseModel):
    """Set by `assetloom serve` options; tests build their own."""

    public_read: bool = Field(
        default=False, description="Anonymous visitors may read and search (never write)"
    )
    max_upload_files: int = Field(default=1000, ge=1, description="Files per upload request")
    max_request_bytes: int = Field(
        default=8 * 1024**3, ge=1, description="Largest upload request body (all files together)"
    )
    session_hours: float = Field(default=12.0, gt=0, description="Web sign-in lifetime")
    secure_cookies: bool = Field(
        default=False, description="Mark cookies Secure (set when served over HTTPS)"
    )
    trust_proxy: bool = Field(
        default=False, description="Take the client address from X-Forwarded-For"
    )
    login_failures_per_user: int = Field(default=5, ge=1)
    login_failures_per_client: int = Field(default=30, ge=1)
    login_window_s: float = Field(default=300.0, gt=0)
    ingest_workers: int = Field(
        default=1,
        ge=1,
        description="Processes per add/verify call. 1 keeps work in the request's thread: "
        "forking a threaded server with loaded models is unsafe, and requests already overlap",
    )
    compute_slots: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Searches and verifies run at once (more wait their turn)",
    )
    ingest_slots: int = Field(
        default=1,
        ge=1,
        description="Uploads ingested at once (more wait their turn): on a small machine one "
        "at a time leaves cores for searches, and SQLite commits them one by one anyway",
    )
    index_refresh_s: float = Field(
        default=1.0,
        gt=0,
        description="How often the server looks for catalog writes by other processes "
        "(a CLI `add` or `rm`) and catches its in-memory indexes up",
    )
    index_save_s: float = Field(
        default=60.0,
        gt=0,
        description="How often changed indexes are written to `index/` (also at shutdown); "
        "they are a cache, so a crash costs a rebuild at the next start, never data",
    )
    warm_models: bool = Field(
        default=True, description="Load the models at start-up when understanding is on"
    )
