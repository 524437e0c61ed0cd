"""Who is calling: a Bearer token (scripts), a session cookie (the web UI) or nobody.

Browser writes must carry the session's CSRF token in the `X-CSRF-Token` header (or a
`csrf_token` form field for plain HTML forms); Bearer requests need none, because browsers
never attach them on their own. Anonymous callers get read access only with `--public-read`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from assetloom.accounts import Principal, Role
from assetloom.accounts.errors import AuthenticationError, CsrfError, PermissionDeniedError
from assetloom.api.context import Services, Svc
from assetloom.api.logs import request_id

SESSION_COOKIE = "assetloom_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False, description="An API token from `assetloom token create NAME`"
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The web UI's sign-in session"
)
ANONYMOUS = Principal("anonymous", Role.VIEWER, "anonymous")


def client_address(request: Request) -> str:
    """The peer's address; behind a trusted proxy (`--trust-proxy`), the one the proxy
    appended to X-Forwarded-For, set by uvicorn's ProxyHeadersMiddleware (see create_app).
    The leftmost entry is whatever the client claimed and is never used."""
    return request.client.host[:64] if request.client else "unknown"


def identify(
    request: Request,
    svc: Svc,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    session: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal | None:
    """The caller, or None when no credentials came; bad credentials raise (never fall back)."""
    principal = None
    if bearer is not None:
        principal = svc.accounts.principal_for_token(bearer.credentials)
    elif session:
        principal = svc.accounts.principal_for_session(session)
    request.state.principal = principal
    return principal


def check_csrf(principal: Principal, supplied: str | None) -> None:
    expected = principal.csrf_token or ""
    if not supplied or not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise CsrfError(
            "this request is missing the page's CSRF token", hint="reload the page and try again"
        )


def require(role: Role) -> Callable[..., Principal]:
    """A dependency that admits callers with at least `role`."""

    def dependency(
        request: Request,
        svc: Svc,
        principal: Annotated[Principal | None, Depends(identify)],
    ) -> Principal:
        safe = request.method in SAFE_METHODS
        if principal is None:
            if svc.settings.public_read and safe and role is Role.VIEWER:
                request.state.principal = ANONYMOUS
                return ANONYMOUS
            raise AuthenticationError(
                "sign in first", hint="send `Authorization: Bearer <token>` from a script"
            )
        if not principal.can(role):
            raise PermissionDeniedError(
                f"{principal.name} is a {principal.role.value}; this needs {role.value}",
                hint="ask an admin for a different role",
            )
        if principal.via == "session" and not safe:
            check_csrf(principal, request.headers.get(CSRF_HEADER))
        return principal

    return dependency


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Editor = Annotated[Principal, Depends(require(Role.EDITOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


@contextmanager
def audited(
    request: Request, svc: Services, who: Principal, action: str, target: str
) -> Iterator[dict[str, Any]]:
    """Record a write in the audit log (who, what, when, from where) however it ends.

    The body fills the yielded dict with details (ids added, removed...); a failure is
    recorded with the error's code as its outcome and re-raised.
    """
    with svc.accounts.audited(
        who.name, action, target, client=client_address(request), request_id=request_id()
    ) as detail:
        yield detail


def record(
    request: Request,
    svc: Services,
    actor: str,
    action: str,
    target: str,
    *,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    svc.accounts.record(
        actor,
        action,
        target,
        outcome=outcome,
        client=client_address(request),
        request_id=request_id(),
        detail=detail,
    )
