"""Errors as JSON `{"code", "message", "hint"?, "request_id"}` with the right HTTP status.

AssetLoomError subclasses keep their stable `code`; FastAPI's own errors (404 route, 405,
validation) get codes of the same style, and anything unexpected becomes a 500 whose body
says nothing internal (the log line with the same request id has the traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from assetloom.accounts.errors import (
    AuthenticationError,
    CsrfError,
    PermissionDeniedError,
    RateLimitedError,
    TokenNotFoundError,
    UserExistsError,
    UserNotFoundError,
)
from assetloom.api.logs import request_id
from assetloom.errors import (
    AssetLoomError,
    AssetNotFoundError,
    BadInputError,
    CollectionExistsError,
    CollectionNotFoundError,
    IntegrityError,
    LibraryBusyError,
    LibraryExistsError,
    NotALibraryError,
    ProjectNotFoundError,
    ShareNotFoundError,
    UnsupportedMediaError,
)
from assetloom.models.errors import ModelNotInstalledError

log = logging.getLogger("assetloom.api")

PageErrors = Callable[[Request, JSONResponse], Response]


class PayloadTooLargeError(AssetLoomError):
    code = "too_large"


class ThumbnailMissingError(AssetLoomError):
    code = "thumbnail_not_found"


# Most specific first; the first class an error is an instance of decides the status.
STATUS: list[tuple[type[AssetLoomError], int]] = [
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (CsrfError, 403),
    (RateLimitedError, 429),
    (AssetNotFoundError, 404),
    (ThumbnailMissingError, 404),
    (ProjectNotFoundError, 404),
    (UserNotFoundError, 404),
    (TokenNotFoundError, 404),
    (CollectionNotFoundError, 404),
    (ShareNotFoundError, 404),
    (CollectionExistsError, 409),
    (UserExistsError, 409),
    (LibraryExistsError, 409),
    (PayloadTooLargeError, 413),
    (UnsupportedMediaError, 415),
    (BadInputError, 400),
    (LibraryBusyError, 503),
    (ModelNotInstalledError, 503),
    (NotALibraryError, 503),
    (IntegrityError, 500),
]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media",
    416: "range_not_satisfiable",
    422: "invalid_request",
}


def status_of(exc: AssetLoomError) -> int:
    return next((status for cls, status in STATUS if isinstance(exc, cls)), 500)


def error_body(code: str, message: str, hint: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    body["request_id"] = request_id()
    return body


def error_response(exc: AssetLoomError, hide: str | None = None) -> JSONResponse:
    """The JSON error; `hide` (the library folder) is cut out of messages sent to clients."""
    status = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if status >= 500:
        log.error("request failed: %s", exc, extra={"code": exc.code})
    message = (
        exc.message.replace(f" in {hide}", "").replace(hide, "the library") if hide else exc.message
    )
    return JSONResponse(
        error_body(exc.code, message, exc.hint), status_code=status, headers=headers
    )


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


def install(app: FastAPI, hide: str | None = None, pages: PageErrors | None = None) -> None:
    """Register the handlers; `pages` may turn an error into HTML for a browser page."""
    _document_validation_errors(app)

    def finish(request: Request, response: JSONResponse) -> Response:
        return pages(request, response) if pages is not None else response

    @app.exception_handler(AssetLoomError)
    async def _ours(request: Request, exc: AssetLoomError) -> Response:
        return finish(request, error_response(exc, hide))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return finish(request, http_error_response(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]
        body = error_body("invalid_request", "; ".join(problems) or "invalid request")
        body["errors"] = jsonable_encoder(exc.errors(), exclude={"input", "ctx", "url"})
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(
            error_body("internal_error", "the server hit an unexpected error"), status_code=500
        )


def _document_validation_errors(app: FastAPI) -> None:
    """Make the OpenAPI document describe 422s as they are sent (ValidationErrorOut), not as
    FastAPI's default `{"detail": [...]}`, which no response of ours has."""
    from assetloom.api.schemas import ValidationErrorOut

    build = app.openapi
    ref = "#/components/schemas/ValidationErrorOut"

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            for item in doc.get("paths", {}).values():
                for operation in item.values():
                    response = operation.get("responses", {}).get("422")
                    if response is not None:
                        response["content"] = {"application/json": {"schema": {"$ref": ref}}}
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            schemas["ValidationErrorOut"] = ValidationErrorOut.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
