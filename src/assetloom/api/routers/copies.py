"""Verify suspect files against the library; find duplicate groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from assetloom.accounts import Principal
from assetloom.api import uploads
from assetloom.api.auth import Editor, Viewer, audited
from assetloom.api.context import Services, Svc
from assetloom.api.schemas import errors
from assetloom.api.uploads import multipart_body
from assetloom.api.views import verify_for_client
from assetloom.app.results import DismissOut, DuplicatesOut, VerifyOut
from assetloom.errors import BadInputError

# json.dumps, as `--json` prints (see routers/assets.py).
router = APIRouter(prefix="/api/v1", tags=["copies"], default_response_class=JSONResponse)


@router.post(
    "/verify",
    summary="Is this file (or an edited copy) ours? Tiers, matches, ledger proofs",
    openapi_extra=multipart_body("files", many=True),
    response_model=VerifyOut,
    responses=errors(400, 401, 403, 413, 415),
)
async def verify(request: Request, svc: Svc, who: Viewer) -> VerifyOut:
    async with svc.staged_upload(request, "files") as upload:
        return await svc.compute(_verify, svc, upload)


def _verify(svc: Services, upload: uploads.Upload) -> VerifyOut:
    if not upload.files:
        raise BadInputError("no files in the request", hint="send them in the `files` field")
    svc.check_query(upload.files)
    with svc.metrics.operation.labels("verify").time():
        results = svc.lib.verify(upload.paths())
    verified = VerifyOut(results=[r.out() for r in results])
    return verify_for_client(verified, upload.client_names())


@router.get(
    "/duplicates",
    summary="Groups of copies, each with a suggested keeper (like `duplicates --json`)",
    response_model=DuplicatesOut,
    responses=errors(401),
)
async def duplicates(
    svc: Svc,
    who: Viewer,
    similar: Annotated[bool, Query(description="Also group look-alikes")] = False,
) -> DuplicatesOut:
    return await svc.compute(_duplicates, svc, similar)


def _duplicates(svc: Services, similar: bool) -> DuplicatesOut:
    with svc.metrics.operation.labels("duplicates").time():
        groups = svc.lib.duplicates(similar=similar)
    return DuplicatesOut(groups=[g.out() for g in groups])


class DismissIn(BaseModel):
    asset_ids: list[str] = Field(
        min_length=2, max_length=100, description="Asset ids (or unique prefixes); every pair"
    )


@router.post(
    "/duplicates/dismiss",
    summary="Remember that these assets are not duplicates (like `duplicates dismiss`)",
    response_model=DismissOut,
    responses=errors(400, 401, 403, 404, 422),
)
def dismiss(request: Request, svc: Svc, who: Editor, body: DismissIn) -> DismissOut:
    return _decide(request, svc, who, body, undo=False)


@router.post(
    "/duplicates/restore",
    summary="Forget that these assets are not duplicates (like `duplicates restore`)",
    response_model=DismissOut,
    responses=errors(400, 401, 403, 404, 422),
)
def restore(request: Request, svc: Svc, who: Editor, body: DismissIn) -> DismissOut:
    return _decide(request, svc, who, body, undo=True)


def _decide(
    request: Request, svc: Svc, who: Principal, body: DismissIn, *, undo: bool
) -> DismissOut:
    action = "duplicates.restore" if undo else "duplicates.dismiss"
    with audited(request, svc, who, action, " ".join(body.asset_ids)) as detail:
        result = svc.lib.dismiss_duplicates(body.asset_ids, by=who.name, undo=undo)
        detail.update(pairs=result.pairs, changed=result.changed)
    return result
