"""Verify suspect files against the library; find duplicate groups."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from assetloom.api import uploads
from assetloom.api.auth import Viewer
from assetloom.api.context import Services, Svc
from assetloom.api.schemas import DuplicatesOut, VerifyOut, errors
from assetloom.api.uploads import multipart_body
from assetloom.api.views import with_client_names
from assetloom.errors import BadInputError

router = APIRouter(prefix="/api/v1", tags=["copies"])


@router.post(
    "/verify",
    summary="Is this file (or an edited copy) ours? Tiers, matches, ledger proofs",
    openapi_extra=multipart_body("files", many=True),
    responses={200: {"model": VerifyOut}, **errors(400, 401, 403, 413, 415)},
)
async def verify(request: Request, svc: Svc, who: Viewer) -> JSONResponse:
    async with svc.staged_upload(request, "files") as upload:
        doc = await svc.compute(_verify, svc, upload)
    return JSONResponse(doc)


def _verify(svc: Services, upload: uploads.Upload) -> dict[str, Any]:
    if not upload.files:
        raise BadInputError("no files in the request", hint="send them in the `files` field")
    svc.check_query(upload.files)
    with svc.metrics.operation.labels("verify").time():
        results = svc.lib.verify(upload.paths())
    doc = {"results": [r.to_json() for r in results]}
    return with_client_names(doc, upload.client_names())


@router.get(
    "/duplicates",
    summary="Groups of copies, each with a suggested keeper (like `duplicates --json`)",
    responses={200: {"model": DuplicatesOut}, **errors(401)},
)
async def duplicates(
    svc: Svc,
    who: Viewer,
    similar: Annotated[bool, Query(description="Also group look-alikes")] = False,
) -> JSONResponse:
    return JSONResponse(await svc.compute(_duplicates, svc, similar))


def _duplicates(svc: Services, similar: bool) -> dict[str, Any]:
    with svc.metrics.operation.labels("duplicates").time():
        groups = svc.lib.duplicates(similar=similar)
    return {"groups": [g.to_json() for g in groups]}
