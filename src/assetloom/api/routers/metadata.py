"""Editable metadata, tags by hand and XMP export (like `meta`, `tag` and `export`).

Writes need an editor, are audited, and take up to 10,000 ids in one transaction; the edit
history names the signed-in user. Reads hide quarantined assets from non-admins, as every
other read by id does.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from assetloom.accounts import Principal, Role
from assetloom.api.auth import Editor, Viewer, audited
from assetloom.api.context import Services, Svc
from assetloom.api.schemas import errors
from assetloom.app.metadata import (
    MAX_IDS,
    FieldOut,
    FieldsOut,
    HistoryOut,
    MetaOut,
    MetaPatch,
    RejectedOut,
    UpdatedOut,
)

router = APIRouter(tags=["metadata"], default_response_class=JSONResponse)

AssetId = Annotated[
    str,
    PathParam(
        min_length=1, max_length=64, description="Asset id or a unique prefix of it (4+ chars)"
    ),
]
TagName = Annotated[str, PathParam(min_length=1, max_length=64, description="Tag key or name")]
Ids = Annotated[list[Annotated[str, Field(max_length=64)]], Field(min_length=1, max_length=MAX_IDS)]


class BulkMetaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: Ids
    set: MetaPatch


class BulkTagsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: Ids
    add: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=100)
    remove: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=100)


class FieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64)
    kind: str = "text"
    choices: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=200
    )
    label: str = Field("", max_length=200)


def _visible(svc: Services, who: Principal, asset_id: str) -> str:
    return svc.lib.get_for(asset_id, reviewer=who.role is Role.ADMIN).asset_id


@router.get(
    "/api/v1/assets/{asset_id}/meta",
    summary="The asset's editable metadata (like `meta show --json`)",
    response_model=MetaOut,
    responses=errors(401, 404),
)
def get_meta(svc: Svc, who: Viewer, asset_id: AssetId) -> MetaOut:
    return svc.lib.metadata([_visible(svc, who, asset_id)])[0]


@router.patch(
    "/api/v1/assets/{asset_id}",
    summary="Edit metadata: only the keys given change (like `meta set --json`)",
    response_model=MetaOut,
    responses=errors(400, 401, 403, 404),
)
def patch_meta(
    request: Request, svc: Svc, who: Editor, asset_id: AssetId, body: MetaPatch
) -> MetaOut:
    full = _visible(svc, who, asset_id)
    with audited(request, svc, who, "asset.meta", full) as detail:
        done = svc.lib.set_metadata([full], body, actor=who.name)
        detail.update(fields=sorted(body.model_fields_set), updated=done.updated)
    return svc.lib.metadata([full])[0]


@router.post(
    "/api/v1/assets/meta",
    summary="Set the same metadata on many assets in one transaction",
    response_model=UpdatedOut,
    responses=errors(400, 401, 403, 404),
)
def bulk_meta(request: Request, svc: Svc, who: Editor, body: BulkMetaIn) -> UpdatedOut:
    with audited(request, svc, who, "asset.meta", f"{len(body.ids)} assets") as detail:
        done = svc.lib.set_metadata(body.ids, body.set, actor=who.name)
        detail.update(fields=sorted(body.set.model_fields_set), updated=done.updated)
    return done


@router.post(
    "/api/v1/assets/tags",
    summary="Add and remove tags by hand on many assets in one transaction",
    response_model=UpdatedOut,
    responses=errors(400, 401, 403, 404),
)
def bulk_tags(request: Request, svc: Svc, who: Editor, body: BulkTagsIn) -> UpdatedOut:
    with audited(request, svc, who, "tag.change", f"{len(body.ids)} assets") as detail:
        done = svc.lib.change_tags(body.ids, add=body.add, remove=body.remove, actor=who.name)
        detail.update(add=body.add, remove=body.remove, updated=done.updated)
    return done


@router.post(
    "/api/v1/assets/{asset_id}/tags/{tag}/reject",
    summary="Reject an auto-tag on the asset for good (like `tag reject --json`)",
    response_model=RejectedOut,
    responses=errors(400, 401, 403, 404),
)
def reject_tag(
    request: Request, svc: Svc, who: Editor, asset_id: AssetId, tag: TagName
) -> RejectedOut:
    full = _visible(svc, who, asset_id)
    with audited(request, svc, who, "tag.reject", full) as detail:
        done = svc.lib.reject_tag(full, tag, actor=who.name)
        detail.update(tag=done.tag)
    return done


@router.get(
    "/api/v1/assets/{asset_id}/history",
    summary="Every edit of the asset, newest first (like `meta history --json`)",
    response_model=HistoryOut,
    responses=errors(401, 404),
)
def get_history(svc: Svc, who: Viewer, asset_id: AssetId) -> HistoryOut:
    return svc.lib.metadata_history(_visible(svc, who, asset_id))


@router.get(
    "/api/v1/meta/fields",
    summary="The library's custom metadata fields (like `meta field list --json`)",
    response_model=FieldsOut,
    responses=errors(401),
)
def list_fields(svc: Svc, who: Viewer) -> FieldsOut:
    return svc.lib.metadata_fields()


@router.post(
    "/api/v1/meta/fields",
    summary="Define (or change) a custom field (like `meta field add --json`)",
    response_model=FieldOut,
    responses=errors(400, 401, 403),
)
def add_field(request: Request, svc: Svc, who: Editor, body: FieldIn) -> FieldOut:
    with audited(request, svc, who, "meta.field", body.name) as detail:
        made = svc.lib.define_metadata_field(
            body.name, body.kind, body.choices, body.label, actor=who.name
        )
        detail.update(kind=made.kind, choices=made.choices)
    return made


@router.get(
    "/api/v1/assets/{asset_id}/export",
    summary="The original with its edited metadata embedded as XMP (or a zip of the "
    "original and a .xmp sidecar for formats that cannot hold XMP)",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/octet-stream": {}, "application/zip": {}}},
        **errors(401, 404, 503),
    },
)
def export_asset(request: Request, svc: Svc, who: Viewer, asset_id: AssetId) -> Response:
    from assetloom.app.export import export_one

    full = _visible(svc, who, asset_id)
    work = tempfile.TemporaryDirectory(prefix="assetloom-export-")
    try:
        with audited(request, svc, who, "asset.export", full) as detail:
            asset, made = export_one(svc.lib, full, Path(work.name))
            detail.update(embedded=made.embedded)
        path, name, mime = Path(made.path), Path(made.path).name, asset.mime
        if made.sidecar is not None:
            bundle = Path(work.name) / f"{Path(name).stem}.zip"
            with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
                z.write(path, name)
                z.write(made.sidecar, Path(made.sidecar).name)
            path, name, mime = bundle, bundle.name, "application/zip"
    except BaseException:
        work.cleanup()
        raise
    headers: dict[str, Any] = {
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }
    return FileResponse(
        path,
        media_type=mime,
        filename=name,
        headers=headers,
        background=BackgroundTask(work.cleanup),
    )
