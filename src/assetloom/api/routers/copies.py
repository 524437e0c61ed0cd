"""Verify suspect files against the library; find duplicate groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from assetloom.api import uploads
from assetloom.api.auth import Viewer
from assetloom.api.context import Services, Svc
from assetloom.api.schemas import errors
from assetloom.api.uploads import multipart_body
from assetloom.api.views import verify_for_client
from assetloom.app.results import DuplicatesOut, VerifyOut
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
