"""`assetloom serve`: the library over HTTP (JSON API, web UI, metrics) with uvicorn."""

from __future__ import annotations

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
        False, "--trust-proxy", help="Take client addresses from X-Forwarded-For."
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
    log_json: bool | None = typer.Option(
        None, "--log-json/--log-text", help="Log format (default: JSON unless on a terminal)."
    ),
) -> None:
    """Serve the library: JSON API under /api/v1 (docs at /docs), web UI, /metrics."""

    def body() -> None:
        import uvicorn

        from assetloom.accounts import AccountService
        from assetloom.api.app import create_app
        from assetloom.api.config import ServerSettings
        from assetloom.api.logs import configure_logging

        configure_logging(log_json)
        slots = {"compute_slots": compute_slots} if compute_slots else {}
        settings = ServerSettings(
            public_read=public_read,
            max_upload_files=max_upload_files,
            secure_cookies=secure_cookies,
            trust_proxy=trust_proxy,
            ingest_slots=ingest_slots,
            **slots,
        )
        app = create_app(library_path(), settings)
        if not AccountService.of(app.state.services.lib).has_users():
            err.print("no users yet: create an admin with `assetloom user add NAME --role admin`")
        if host not in ("127.0.0.1", "localhost", "::1"):
            err.print(f"listening on {host}: plain HTTP, put an HTTPS proxy in front of it")
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,
            proxy_headers=trust_proxy,
            server_header=False,
            timeout_graceful_shutdown=10,
        )

    run(False, body)
