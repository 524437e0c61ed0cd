"""`assetloom serve`: the library over HTTP (JSON API, web UI, metrics) with uvicorn."""

from __future__ import annotations

import contextlib

import typer

from assetloom.cli.common import err, library_path, run


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8420, "--port", min=1, max=65535, help="TCP port."),
    public_read: bool = typer.Option(
        False, "--public-read", help="Let anonymous visitors browse and search (never write)."
    ),
    max_upload_files: int = typer.Option(1000, "--max-upload-files", min=1),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Mark cookies Secure (behind an HTTPS proxy)."
    ),
    trust_proxy: bool = typer.Option(
        False,
        "--trust-proxy",
        help="Take client addresses from X-Forwarded-For, as the trusted proxy appended them.",
    ),
    trusted_proxies: str = typer.Option(
        "127.0.0.1,::1",
        "--trusted-proxies",
        help="With --trust-proxy: the proxies' addresses or networks, comma-separated.",
    ),
    compute_slots: int | None = typer.Option(
        None,
        "--compute-slots",
        min=1,
        help="Searches/verifies run at once (default: one per core; more wait their turn).",
    ),
    ingest_slots: int = typer.Option(
        1, "--ingest-slots", min=1, help="Uploads ingested at once (more wait their turn)."
    ),
    query_max_pixels: int = typer.Option(
        24_000_000,
        "--query-max-pixels",
        min=1,
        help="Largest verify/search query image, in decoded pixels (JPEGs decode reduced).",
    ),
    query_max_text_bytes: int = typer.Option(
        4 * 1024**2, "--query-max-text-bytes", min=1, help="Largest text verify accepts."
    ),
    query_decode_slots: int = typer.Option(
        2, "--query-decode-slots", min=1, help="Query images decoded at once."
    ),
    header_timeout: float = typer.Option(
        10.0,
        "--header-timeout",
        min=0.1,
        help="Seconds a connection has to send a complete request head.",
    ),
    keep_alive: int = typer.Option(
        5, "--keep-alive", min=1, help="Seconds an idle kept-alive connection stays open."
    ),
    max_connections: int = typer.Option(
        1000, "--max-connections", min=1, help="Connections at once; more are answered 503."
    ),
    log_json: bool | None = typer.Option(
        None, "--log-json/--log-text", help="Log format (default: JSON unless on a terminal)."
    ),
) -> None:
    """Serve the library: JSON API under /api/v1 (docs at /docs), web UI, /metrics."""

    def body() -> None:
        import uvicorn

        from assetloom.accounts import AccountService
        from assetloom.api.config import ServerSettings
        from assetloom.api.logs import configure_logging
        from assetloom.server.app import create_app
        from assetloom.server.uvicorn import uvicorn_config

        configure_logging(log_json)
        slots = {"compute_slots": compute_slots} if compute_slots else {}
        settings = ServerSettings(
            public_read=public_read,
            max_upload_files=max_upload_files,
            secure_cookies=secure_cookies,
            trust_proxy=trust_proxy,
            trusted_proxies=trusted_proxies,
            ingest_slots=ingest_slots,
            query_max_pixels=query_max_pixels,
            query_max_text_bytes=query_max_text_bytes,
            query_decode_slots=query_decode_slots,
            header_timeout_s=header_timeout,
            keep_alive_s=keep_alive,
            max_connections=max_connections,
            **slots,
        )
        app = create_app(library_path(), settings)
        if not AccountService.of(app.state.services.lib).has_users():
            err.print("no users yet: create an admin with `assetloom user add NAME --role admin`")
        if host not in ("127.0.0.1", "localhost", "::1"):
            err.print(f"listening on {host}: plain HTTP, put an HTTPS proxy in front of it")
        server = uvicorn.Server(uvicorn_config(app, host, port, settings, log_config=None))
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        if not server.started:
            raise typer.Exit(3)  # uvicorn logged why (the port is taken, say)

    run(False, body)
