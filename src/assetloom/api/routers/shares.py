"""Share links: create (the token is in the answer once), list, revoke. Visitors use them at
`/s/{token}` (web/organise.py), which needs no account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from assetloom.api.auth import Editor, audited
from assetloom.api.context import Svc
from assetloom.api.schemas import errors
from assetloom.app import shares
from assetloom.app.shares import ShareCreatedOut, ShareListOut, ShareOut

router = APIRouter(prefix="/api/v1/shares", tags=["shares"], default_response_class=JSONResponse)


class ShareCreateIn(BaseModel):
    collection: str | None = Field(default=None, max_length=200, description="Share this one")
    asset_id: str | None = Field(default=None, max_length=64, description="Or this asset")
    expires: str = Field(
        default=shares.DEFAULT_EXPIRY,
        max_length=32,
        description='"7d", "12h", "2w", a date (YYYY-MM-DD) or "never"',
    )
    password: str | None = Field(default=None, max_length=1024, description="Ask visitors")
    allow_download: bool = Field(default=False, description="Visitors may get the originals")


@router.post(
    "",
    summary="Make a share link of a collection or an asset (like `share create --json`)",
    response_model=ShareCreatedOut,
    responses=errors(400, 401, 403, 404),
)
def create_share(request: Request, svc: Svc, who: Editor, body: ShareCreateIn) -> ShareCreatedOut:
    target = f"collection {body.collection}" if body.collection else f"asset {body.asset_id}"
    with audited(request, svc, who, "share.create", target) as detail:
        made = shares.create(
            svc.lib,
            by=who.name,
            base_url=svc.lib.settings.public_url or str(request.base_url),
            collection=body.collection,
            asset_id=body.asset_id,
            expires=body.expires,
            password=body.password,
            allow_download=body.allow_download,
        )
        detail.update(share=made.id, prefix=made.prefix, expires_at=made.expires_at)
    return made


@router.get(
    "",
    summary="Every share link, newest first, with its state and uses (never the tokens)",
    response_model=ShareListOut,
    responses=errors(401, 403),
)
def list_shares(svc: Svc, who: Editor) -> ShareListOut:
    return shares.list_all(svc.lib)


@router.delete(
    "/{share}",
    summary="Revoke a link (by its id, or the token itself): it answers 404 from now on",
    response_model=ShareOut,
    responses=errors(401, 403, 404),
)
def revoke_share(
    request: Request,
    svc: Svc,
    who: Editor,
    share: Annotated[str, PathParam(min_length=1, max_length=100)],
) -> ShareOut:
    shown = share if share.isdigit() else share[: shares.SHOWN_PREFIX]
    with audited(request, svc, who, "share.revoke", shown) as detail:
        revoked = shares.revoke(svc.lib, share)
        detail.update(share=revoked.id, prefix=revoked.prefix)
    return revoked
