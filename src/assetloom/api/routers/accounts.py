"""Who am I; users (admins); API tokens; the audit log (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from assetloom.accounts import Role
from assetloom.accounts.errors import PermissionDeniedError
from assetloom.api.auth import Admin, Viewer, audited
from assetloom.api.context import Svc
from assetloom.api.schemas import (
    AuditOut,
    MeOut,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
    TokensOut,
    UserCreateIn,
    UserOut,
    UsersOut,
    UserUpdateIn,
    errors,
)

router = APIRouter(prefix="/api/v1", tags=["accounts"])
UserName = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/me", summary="The caller", responses={200: {"model": MeOut}, **errors(401)})
def me(who: Viewer) -> JSONResponse:
    return JSONResponse({"name": who.name, "role": who.role.value, "via": who.via})


@router.get("/users", responses={200: {"model": UsersOut}, **errors(401, 403)})
def list_users(svc: Svc, who: Admin) -> JSONResponse:
    return JSONResponse({"users": [u.to_json() for u in svc.accounts.list_users()]})


@router.post("/users", responses={200: {"model": UserOut}, **errors(400, 401, 403, 409)})
def add_user(request: Request, svc: Svc, who: Admin, body: UserCreateIn) -> JSONResponse:
    with audited(request, svc, who, "user.add", body.name) as detail:
        user = svc.accounts.add_user(body.name, body.role, body.password)
        detail["role"] = user.role.value
    return JSONResponse(user.to_json())


@router.patch("/users/{name}", responses={200: {"model": UserOut}, **errors(400, 401, 403, 404)})
def update_user(
    request: Request, svc: Svc, who: Admin, name: UserName, body: UserUpdateIn
) -> JSONResponse:
    with audited(request, svc, who, "user.update", name) as detail:
        user = svc.accounts.update_user(
            name, role=body.role, password=body.password, disabled=body.disabled
        )
        detail.update(
            role=user.role.value, disabled=user.disabled, password_changed=body.password is not None
        )
    return JSONResponse(user.to_json())


@router.get(
    "/tokens",
    summary="Your API tokens (admins: everyone's with all=true)",
    responses={200: {"model": TokensOut}, **errors(401, 403)},
)
def list_tokens(svc: Svc, who: Viewer, all: Annotated[bool, Query()] = False) -> JSONResponse:
    if all and not who.can(Role.ADMIN):
        raise PermissionDeniedError("only admins see everyone's tokens")
    if who.via == "anonymous":  # never the tokens of a user who happens to be so named
        return JSONResponse({"tokens": []})
    tokens = svc.accounts.list_tokens(None if all else who.name)
    return JSONResponse({"tokens": [t.to_json() for t in tokens]})


@router.post(
    "/tokens",
    summary="Create an API token; the secret is in this response only",
    responses={200: {"model": TokenCreatedOut}, **errors(400, 401, 403, 404)},
)
def create_token(request: Request, svc: Svc, who: Viewer, body: TokenCreateIn) -> JSONResponse:
    owner = body.user or who.name
    if who.via == "anonymous":
        raise PermissionDeniedError("anonymous visitors cannot have tokens")
    if owner.lower() != who.name.lower() and not who.can(Role.ADMIN):
        raise PermissionDeniedError("only admins make tokens for other users")
    with audited(request, svc, who, "token.create", owner) as detail:
        info, secret = svc.accounts.create_token(owner, body.label)
        detail.update(token_id=info.id, prefix=info.prefix)
    return JSONResponse({**info.to_json(), "token": secret})


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke a token (yours; admins: any)",
    responses={200: {"model": TokenOut}, **errors(401, 403, 404)},
)
def revoke_token(
    request: Request,
    svc: Svc,
    who: Viewer,
    token_id: Annotated[int, Path(ge=1, le=2**62)],
) -> JSONResponse:
    if who.via == "anonymous":
        raise PermissionDeniedError("anonymous visitors have no tokens")
    owner = None if who.can(Role.ADMIN) else who.name
    with audited(request, svc, who, "token.revoke", str(token_id)):
        info = svc.accounts.revoke_token(token_id, owner=owner)
    return JSONResponse(info.to_json())


@router.get(
    "/audit",
    summary="The audit log, newest first (admins)",
    responses={200: {"model": AuditOut}, **errors(401, 403)},
)
def audit_log(
    svc: Svc,
    who: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    actor: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    total, entries = svc.accounts.audit_log(limit=limit, offset=offset, actor=actor)
    return JSONResponse(
        {"total": total, "offset": offset, "entries": [e.to_json() for e in entries]}
    )
