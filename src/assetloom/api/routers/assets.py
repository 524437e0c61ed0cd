"""Assets: upload, list, detail, downloads (Range, ETag), delete (to the trash), similar,
tags, copies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

from assetloom.accounts import Principal, Role
from assetloom.api import uploads
from assetloom.api.auth import Editor, Viewer, audited
from assetloom.api.context import Services, Svc
from assetloom.api.errors import ThumbnailMissingError
from assetloom.api.schemas import AssetDetailOut, errors
from assetloom.api.views import (
    ListParams,
    asset_detail,
    asset_page,
    report_for_client,
    search_results,
)
from assetloom.app.results import (
    AddReport,
    AssetListOut,
    AssetTagsOut,
    CopiesOut,
    SearchOut,
)
from assetloom.app.search import SearchQuery
from assetloom.app.trash import TrashedOut, move_to_trash
from assetloom.core.assets import Asset
from assetloom.errors import BadInputError

# JSONResponse renders with json.dumps, as `--json` prints; FastAPI's default for a response
# model is pydantic's own writer, which spells some floats differently (1e-5 for 1e-05).
router = APIRouter(prefix="/api/v1/assets", tags=["assets"], default_response_class=JSONResponse)

AssetId = Annotated[
    str,
    PathParam(
        min_length=1, max_length=64, description="Asset id or a unique prefix of it (4+ chars)"
    ),
]
# Downloads are user content: never let a browser run it as a page of ours.
LINK_TTL_S = 300
"""How long a presigned download link (remote blob stores) stays valid."""
_FILE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, max-age=86400",
}


@router.post(
    "",
    summary="Upload files (like `add --json`)",
    openapi_extra=uploads.multipart_body("files", many=True),
    response_model=AddReport,
    responses=errors(400, 401, 403, 413, 415),
)
async def upload_assets(request: Request, svc: Svc, who: Editor) -> AddReport:
    async with svc.staged_upload(request, "files") as upload:
        return await svc.ingest(_add, request, svc, who, upload)


def _add(request: Request, svc: Services, who: Principal, upload: uploads.Upload) -> AddReport:
    if not upload.files:
        raise BadInputError("no files in the request", hint="send them in the `files` field")
    with audited(request, svc, who, "asset.add", f"{len(upload.files)} files") as detail:
        with svc.metrics.operation.labels("add").time():
            report = svc.lib.add(upload.paths(), sources=upload.sources(who.name))
        svc.metrics.record_ingest(report, sum(f.size for f in upload.files))
        report = report_for_client(report, upload.client_names())
        detail.update(
            added=[a.asset_id for a in report.added],
            present=len(report.present),
            skipped=len(report.skipped),
        )
    return report


@router.get(
    "",
    summary="List assets, filtered, oldest or newest first (like `list --json`)",
    description="Page with `cursor`: pass the previous page's `next_cursor` (null on the last "
    "page) with the same filters and order. Pages neither repeat nor skip assets when others are "
    "added or removed meanwhile. A malformed cursor is a 400 `bad_input`.",
    response_model=AssetListOut,
    responses=errors(400, 401),
)
def list_assets(svc: Svc, who: Viewer, params: Annotated[ListParams, Depends()]) -> AssetListOut:
    return asset_page(svc.lib, params.query)


@router.get(
    "/{asset_id}",
    summary="One asset (like `show --json`, with download URLs)",
    response_model=AssetDetailOut,
    responses=errors(401, 404),
)
def get_asset(svc: Svc, who: Viewer, asset_id: AssetId) -> AssetDetailOut:
    return asset_detail(svc.lib, svc.lib.get_for(asset_id, reviewer=who.role is Role.ADMIN))


@router.delete(
    "/{asset_id}",
    summary="Move an asset to the trash (like `rm --json`; undo: POST /api/v1/trash/restore)",
    response_model=TrashedOut,
    responses=errors(401, 403, 404),
)
def delete_asset(request: Request, svc: Svc, who: Editor, asset_id: AssetId) -> TrashedOut:
    with audited(request, svc, who, "asset.remove", asset_id) as detail:
        with svc.metrics.operation.labels("remove").time():
            trashed = move_to_trash(svc.lib, [asset_id])
        detail.update(asset_id=trashed.removed[0].asset_id, trashed=True)
    return trashed


@router.get(
    "/{asset_id}/original",
    summary="The original file (Range requests; ETag is the SHA-256)",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        206: {"description": "Partial content"},
        304: {"description": "Not modified"},
        **errors(401, 404, 416),
    },
)
def download_original(request: Request, svc: Svc, who: Viewer, asset_id: AssetId) -> Response:
    asset = svc.lib.get_for(asset_id, reviewer=who.role is Role.ADMIN)
    where = svc.lib.original_download(asset, expires_s=LINK_TTL_S)
    if where.url is not None:  # an object store serves the bytes (and Range) itself
        return RedirectResponse(where.url, status_code=307, headers={"Cache-Control": "private"})
    assert where.path is not None
    return file_response(request, where.path, asset.mime, f'"{asset.sha256}"', asset.original_name)


@router.get(
    "/{asset_id}/thumbnail",
    summary="The 256 px WebP thumbnail (images only)",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/webp": {}}},
        206: {"description": "Partial content"},
        304: {"description": "Not modified"},
        **errors(401, 404, 416),
    },
)
def download_thumbnail(request: Request, svc: Svc, who: Viewer, asset_id: AssetId) -> Response:
    return thumbnail_response(
        request, svc, svc.lib.get_for(asset_id, reviewer=who.role is Role.ADMIN)
    )


def thumbnail_response(request: Request, svc: Services, asset: Asset) -> Response:
    """The asset's thumbnail: a signed redirect where the blob store has URLs, else the file."""
    where = svc.lib.thumbnail_download(asset, expires_s=LINK_TTL_S)
    if where is None:
        raise ThumbnailMissingError(f"asset {asset.asset_id} has no thumbnail")
    if where.url is not None:
        return RedirectResponse(where.url, status_code=307, headers={"Cache-Control": "private"})
    assert where.path is not None
    return file_response(request, where.path, "image/webp", f'"{asset.sha256}.thumb"', None)


@router.get(
    "/{asset_id}/previews/{name}",
    summary="A derived preview: a video's strip (strip.webp), a document page (page-N.webp)",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/webp": {}}},
        304: {"description": "Not modified"},
        **errors(401, 404),
    },
)
def download_preview(
    request: Request, svc: Svc, who: Viewer, asset_id: AssetId, name: str
) -> Response:
    asset = svc.lib.get_for(asset_id, reviewer=who.role is Role.ADMIN)
    where = svc.lib.preview_download(asset, name, expires_s=LINK_TTL_S)
    if where is None:
        raise ThumbnailMissingError(f"asset {asset.asset_id} has no preview {name!r}")
    if where.url is not None:
        return RedirectResponse(where.url, status_code=307, headers={"Cache-Control": "private"})
    assert where.path is not None
    return file_response(request, where.path, "image/webp", f'"{asset.sha256}.{name}"', None)


def file_response(
    request: Request, path: Path, mime: str, etag: str, filename: str | None
) -> Response:
    headers = {**_FILE_HEADERS, "ETag": etag}
    wanted = request.headers.get("if-none-match", "")
    if wanted and (wanted.strip() == "*" or etag in [t.strip() for t in wanted.split(",")]):
        return Response(status_code=304, headers=headers)
    stat = path.stat()
    response = FileResponse(
        path,
        media_type=mime,
        headers=headers,
        filename=filename,
        content_disposition_type="inline",
        stat_result=stat,
    )
    _check_range(request, response, stat.st_size)
    return response


def _check_range(request: Request, response: FileResponse, size: int) -> None:
    """Refuse a Range header FileResponse would refuse, as our JSON error: it answers those in
    plain text itself. Its own parser decides, so the two never disagree."""
    wanted = request.headers.get("range")
    if wanted is None or request.method not in ("GET", "HEAD"):
        return
    if_range = request.headers.get("if-range")
    if if_range is not None and not response._should_use_range(if_range):
        return  # the file changed since: the whole file is sent, no range to check
    try:
        FileResponse._parse_range_header(wanted, size)
    except MalformedRangeHeader as exc:
        raise StarletteHTTPException(400, f"{exc.content} (Range: {wanted[:100]})") from exc
    except RangeNotSatisfiable as exc:
        raise StarletteHTTPException(
            416,
            f"the range {wanted[:100]} starts past the end of the file ({size} bytes)",
            headers={"Content-Range": f"bytes */{size}"},
        ) from exc


@router.get(
    "/{asset_id}/similar",
    summary="Assets that look or read like this one (like `similar --json`)",
    response_model=SearchOut,
    responses=errors(401, 404),
)
async def similar(
    svc: Svc,
    who: Viewer,
    asset_id: AssetId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> SearchOut:
    return await svc.compute(_similar, svc, asset_id, limit)


def _similar(svc: Services, asset_id: str, limit: int) -> SearchOut:
    svc.lib.get_for(asset_id, reviewer=True)  # one in the trash has no neighbours to show
    with svc.metrics.operation.labels("similar").time():
        return search_results(svc.lib.search(SearchQuery(like=asset_id, limit=limit)))


@router.get(
    "/{asset_id}/copies",
    summary="Copies and look-alikes of this asset, with ledger proofs (verify on its original)",
    response_model=CopiesOut,
    responses=errors(401, 404),
)
async def copies(svc: Svc, who: Viewer, asset_id: AssetId) -> CopiesOut:
    return await svc.compute(_copies, svc, asset_id)


def _copies(svc: Services, asset_id: str) -> CopiesOut:
    with svc.metrics.operation.labels("copies").time():
        return svc.lib.copies(asset_id)


@router.get(
    "/{asset_id}/tags",
    summary="The asset's tags with scores (like `tags show --json`)",
    response_model=AssetTagsOut,
    responses=errors(401, 404),
)
def asset_tags(svc: Svc, who: Viewer, asset_id: AssetId) -> AssetTagsOut:
    full_id, tags = svc.lib.tags_of(asset_id)
    return AssetTagsOut(asset_id=full_id, tags=tags)
