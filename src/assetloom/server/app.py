"""The FastAPI application: the library as a service (JSON API, web UI, metrics).

`create_app(library_path)` opens the library once per process; requests share it. Sync
routes run in Starlette's thread pool; searches hold the library's index lock for reading, and
an `IndexKeeper` thread catches the indexes up with writes from other processes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from assetloom import __version__
from assetloom.accounts import AccountService
from assetloom.api import errors
from assetloom.api.config import ServerSettings
from assetloom.api.context import Services
from assetloom.api.index_keeper import IndexKeeper
from assetloom.api.middleware import RequestMiddleware
from assetloom.api.routers import accounts, assets, copies, ledger, review, search, system, tags
from assetloom.api.routers import browse as browse_api
from assetloom.api.routers import collections as collections_api
from assetloom.api.routers import metadata as metadata_api
from assetloom.api.routers import shares as shares_api
from assetloom.api.routers import studio as studio_api
from assetloom.api.routers import trash as trash_api
from assetloom.app import trash
from assetloom.app.library import Library
from assetloom.errors import AssetLoomError
from assetloom.ingest.decode import query_decodes
from assetloom.web import metadata as web_metadata
from assetloom.web import organise as web_organise
from assetloom.web import review as web_review
from assetloom.web import routes as web

log = logging.getLogger("assetloom.api")

DESCRIPTION = """\
The AssetLoom library over HTTP: the same answers as the `assetloom` command line (`--json`).

Scripts authenticate with `Authorization: Bearer <token>` (`assetloom token create NAME`).
Errors are JSON: `{"code", "message", "hint"?, "request_id"}`.
"""


def create_app(library_path: Path, settings: ServerSettings | None = None) -> FastAPI:
    """An app serving the library at `library_path` (which must exist: `assetloom init`)."""
    settings = settings or ServerSettings()
    lib = Library.open(library_path)
    # Requests overlap in threads; a process pool per call would fork a threaded server.
    lib.settings = lib.settings.model_copy(update={"workers": settings.ingest_workers})
    svc = Services(lib, AccountService.of(lib), settings)
    svc.metrics.watch(svc)
    query_decodes.resize(settings.query_decode_slots)  # per process: there is one server
    keeper = IndexKeeper(
        lib,
        refresh_s=settings.index_refresh_s,
        save_s=settings.index_save_s,
        sweep=partial(_sweep_leftovers, svc),
        sweep_s=settings.sweep_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with svc.metrics.observing_inference():
            threading.Thread(
                target=_warm_up, args=(svc,), name="assetloom-warm-up", daemon=True
            ).start()
            keeper.start()
            try:
                yield
            finally:
                keeper.stop()
                lib.close()

    app = FastAPI(
        title="AssetLoom",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = svc
    errors.install(app, hide=str(lib.root), pages=_page_errors)
    app.add_exception_handler(web.SignInRequired, _sign_in)
    app.add_middleware(RequestMiddleware, metrics=svc.metrics)
    if settings.trust_proxy:
        # Outermost, so logs, the audit log and the sign-in limit all see the client as the
        # proxy appended it: the rightmost X-Forwarded-For hop that is not a trusted proxy.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    for module in (assets, search, copies, tags, ledger, accounts, review, system):
        app.include_router(module.router)
    app.include_router(studio_api.router)
    app.include_router(browse_api.router)
    for organise_router in (collections_api, shares_api, trash_api, web_organise):
        app.include_router(organise_router.router)
    app.include_router(metadata_api.router)
    app.include_router(web.router)
    app.include_router(web_review.router)
    app.include_router(web_metadata.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return web.templates.TemplateResponse(request, "docs.html", {})

    return app


def _warm_up(svc: Services) -> None:
    """Load indexes (and models, if understanding is on) before /readyz says yes."""
    lib = svc.lib
    try:
        lib.fingerprint_index().sizes()
        lib.vector_spaces().sizes()
        if lib.settings.understanding and svc.settings.warm_models:
            from PIL import Image

            started = time.perf_counter()
            text = lib.text_encoder()
            text.encode_queries(["warm up"])
            svc.metrics.model_load.labels(text.name).set(time.perf_counter() - started)
            started = time.perf_counter()
            image = lib.image_encoder()
            image.encode([Image.new("RGB", (64, 64))])
            svc.metrics.model_load.labels(image.name).set(time.perf_counter() - started)
    except AssetLoomError as exc:
        svc.warm_up_error = exc.message
        log.error("warm-up failed: %s", exc)
    finally:
        svc.ready.set()


def _sweep_leftovers(svc: Services) -> None:
    """What requests and adds that died left: staged uploads, blobs without assets.

    Pending blobs of this process are never swept here (an upload may be committing them);
    an `add` sweeps its own process's leftovers when no other runs.
    """
    svc.staging.sweep()
    swept = svc.lib.sweep_pending(include_own=False)
    if swept:
        log.info("swept %d blobs left by adds that died before registering them", swept)
    expired = trash.empty(svc.lib, expired=True)
    if expired.removed:
        ids = [a.asset_id for a in expired.removed]
        svc.accounts.record("server", "trash.expire", f"{len(ids)} assets", detail={"ids": ids})
        log.info("removed %d assets past trash_days from the trash", len(ids))


async def _sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, web.SignInRequired)
    return web.sign_in_redirect(exc.next_url)


def _page_errors(request: Request, response: JSONResponse) -> Response:
    """Browser pages get an HTML error page (or the sign-in page); everything else JSON."""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or "text/html" not in request.headers.get(
        "accept", ""
    ):
        return response
    if response.status_code == 401:
        return web.sign_in_redirect(path)
    return web.render_error(request, response.status_code, json.loads(bytes(response.body)))
