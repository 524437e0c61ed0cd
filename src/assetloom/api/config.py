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
        default=False,
        description="Take the client address from X-Forwarded-For, as the trusted proxy "
        "appended it (the rightmost hop that is not itself a trusted proxy)",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="With trust_proxy: the proxies' addresses or networks, comma-separated "
        "(uvicorn's forwarded_allow_ips syntax); X-Forwarded-For from anyone else is ignored",
    )
    login_failures_per_user: int = Field(
        default=5, ge=1, description="Failed sign-ins for one account from one address"
    )
    login_failures_per_account: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins for one account from all addresses together: guesses "
        "spread over many (or forged) addresses still add up",
    )
    login_failures_per_client: int = Field(
        default=30,
        ge=1,
        description="Failed sign-ins from one address over all accounts; past it, each "
        "account gets one try from that address per window (people behind one proxy or NAT "
        "who type their password right are never locked out)",
    )
    login_window_s: float = Field(default=300.0, gt=0)
    query_max_pixels: int = Field(
        default=24_000_000,
        ge=1,
        description="Largest query image (verify, search by example) in decoded pixels; "
        "JPEGs count at the reduced scale they decode at",
    )
    query_max_text_bytes: int = Field(
        default=4 * 1024**2, ge=1, description="Largest text file verify accepts as a query"
    )
    query_decode_slots: int = Field(
        default=2,
        ge=1,
        description="Query images decoded at once in the process (more wait their turn): "
        "each may take ~8 bytes per pixel while it decodes",
    )
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
    sweep_s: float = Field(
        default=300.0,
        gt=0,
        description="How often upload folders and blobs left by dead processes are swept "
        "(also at start)",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="A connection must send a complete request head within this time of "
        "opening (or of its first byte after a kept-alive response), or it is closed",
    )
    keep_alive_s: int = Field(
        default=5, ge=1, description="Idle kept-alive connections are closed after this"
    )
    max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="Largest request line plus headers (uvicorn's "
        "h11_max_incomplete_event_size); larger is a 400",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Connections and requests at once (uvicorn's limit_concurrency); "
        "more are answered 503",
    )
    warm_models: bool = Field(
        default=True, description="Load the models at start-up when understanding is on"
    )
