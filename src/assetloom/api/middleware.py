"""One ASGI middleware for every request: request id, access log, metrics, security headers
(and `Cache-Control: no-store` on whatever does not set its own).

Plain ASGI (not BaseHTTPMiddleware) so streamed uploads and file downloads pass through
untouched, and so the route template is known after routing for the metric labels.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assetloom.api.logs import set_request_id
from assetloom.api.metrics import Metrics

log = logging.getLogger("assetloom.api.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# The method label of the HTTP metrics: any other token a client sends is counted as "other",
# so random methods cannot add series (each one costs memory for as long as the process runs).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
PAGE_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Swagger UI sets inline styles; it is the only page that needs them.
DOCS_CSP = PAGE_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class RequestMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        supplied = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex[:16]
        set_request_id(rid)
        started = time.perf_counter()
        status = 500
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = list(message.get("headers", []))
                present = {k.lower() for k, _ in out}
                out.append((b"x-request-id", rid.encode()))
                for key, value in SECURITY_HEADERS:
                    if key not in present:
                        out.append((key, value))
                if b"cache-control" not in present and not path.startswith("/static/"):
                    # Pages and API answers show one user's view of private data: never kept
                    # by a browser or a proxy. Downloads say `private` themselves.
                    out.append((b"cache-control", b"no-store"))
                if b"content-security-policy" not in present:
                    csp = DOCS_CSP if path == "/docs" else PAGE_CSP
                    out.append((b"content-security-policy", csp.encode()))
                message["headers"] = out
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            route = _route(scope)
            method = metric_method(scope.get("method", ""))
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(elapsed)
            principal = getattr(scope.get("state", {}).get("principal"), "name", None)
            log.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "client": (scope.get("client") or ("", 0))[0],
                    "user": principal,
                },
            )


def metric_method(method: str) -> str:
    """The method as a metric (and log) label: one of METHODS, or "other"."""
    return method if method in METHODS else "other"


def _route(scope: dict[str, Any]) -> str:
    """The matched route's template (`/api/v1/assets/{asset_id}`), never the raw path."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"
