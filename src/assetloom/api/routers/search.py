"""Search by words (zh/en), by an uploaded example image, or `like` an asset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from assetloom.api.auth import Viewer
from assetloom.api.context import Services, Svc
from assetloom.api.schemas import errors
from assetloom.api.uploads import UploadedFile, multipart_body
from assetloom.api.views import SearchParams, search_results
from assetloom.app.results import SearchOut
from assetloom.app.search import SearchHit, SearchQuery
from assetloom.errors import BadInputError

# json.dumps, as `--json` prints (see routers/assets.py).
router = APIRouter(prefix="/api/v1/search", tags=["search"], default_response_class=JSONResponse)
Params = Annotated[SearchParams, Depends()]


@router.get(
    "",
    summary="Search by words and/or `like` an asset (like `search --json`)",
    response_model=SearchOut,
    responses=errors(400, 401, 404, 503),
)
async def search(svc: Svc, who: Viewer, params: Params) -> SearchOut:
    return search_results(await svc.compute(_run, svc, params.query))


@router.post(
    "",
    summary="Search by an example image (multipart field `image`), words optional",
    openapi_extra=multipart_body("image", many=False),
    response_model=SearchOut,
    responses=errors(400, 401, 413, 415, 503),
    description="The example image is refused with a 413 when it would decode to more than "
    "the server's `--query-max-pixels` (JPEGs count at their reduced decoding scale).",
)
async def search_by_image(request: Request, svc: Svc, who: Viewer, params: Params) -> SearchOut:
    async with svc.staged_upload(request, "image") as upload:
        if len(upload.files) != 1:
            raise BadInputError("send exactly one example image in the `image` field")
        params.query.image = upload.files[0].path
        hits = await svc.compute(_run_example, svc, params.query, upload.files[0])
    return search_results(hits)


def _run_example(svc: Services, query: SearchQuery, example: UploadedFile) -> list[SearchHit]:
    svc.check_query([example])
    return _run(svc, query)


def _run(svc: Services, query: SearchQuery) -> list[SearchHit]:
    kind = "image" if query.image else "like" if query.like and not query.text else "text"
    with svc.metrics.operation.labels(f"search_{kind}").time():
        return svc.lib.search(query)
