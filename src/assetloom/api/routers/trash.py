"""The trash: move assets to it in bulk, list it, restore, empty it (admins). `DELETE
/api/v1/assets/{id}` moves one asset here too (routers/assets.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from assetloom.api.auth import Admin, Editor, audited
from assetloom.api.context import Svc
from assetloom.api.routers.assets import AssetId, thumbnail_response
from assetloom.api.routers.collections import IdsIn
from assetloom.api.schemas import errors
from assetloom.app import trash
from assetloom.app.results import RemovedOut
from assetloom.app.trash import RestoredOut, TrashedOut, TrashListOut

router = APIRouter(prefix="/api/v1/trash", tags=["trash"], default_response_class=JSONResponse)
LINK_TTL_S = 300


@router.post(
    "",
    summary="Move assets to the trash (one transaction, up to 10,000 ids; like `rm --json`)",
    response_model=TrashedOut,
    responses=errors(400, 401, 403, 404),
)
def move_to_trash(request: Request, svc: Svc, who: Editor, body: IdsIn) -> TrashedOut:
    with audited(request, svc, who, "asset.remove", _target(body.ids)) as detail:
        moved = trash.move_to_trash(svc.lib, body.ids)
        detail.update(trashed=len(moved.removed))
    return moved


@router.get(
    "",
    summary="What is in the trash, most recently removed first (like `trash list --json`)",
    response_model=TrashListOut,
    responses=errors(400, 401, 403),
)
def list_trash(
    svc: Svc,
    who: Editor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TrashListOut:
    return trash.trash_list(svc.lib, limit=limit, offset=offset)


@router.post(
    "/restore",
    summary="Bring assets back from the trash (one transaction, up to 10,000 ids)",
    response_model=RestoredOut,
    responses=errors(400, 401, 403, 404),
)
def restore(request: Request, svc: Svc, who: Editor, body: IdsIn) -> RestoredOut:
    with audited(request, svc, who, "trash.restore", _target(body.ids)) as detail:
        restored = trash.restore(svc.lib, body.ids)
        detail.update(restored=len(restored.restored))
    return restored


@router.delete(
    "",
    summary="Empty the trash for good (admins): all, or only what is past trash_days",
    response_model=RemovedOut,
    responses=errors(401, 403),
)
def empty_trash(
    request: Request,
    svc: Svc,
    who: Admin,
    expired: Annotated[bool, Query(description="Only what is past trash_days")] = False,
) -> RemovedOut:
    with audited(request, svc, who, "trash.empty", "expired" if expired else "all") as detail:
        with svc.metrics.operation.labels("remove").time():
            emptied = trash.empty(svc.lib, expired=expired)
        detail.update(ids=[a.asset_id for a in emptied.removed])
    return emptied


@router.get(
    "/{asset_id}/thumbnail",
    summary="A trashed asset's thumbnail (for the trash page)",
    response_class=Response,
    responses={200: {"content": {"image/webp": {}}}, **errors(401, 403, 404)},
)
def trashed_thumbnail(request: Request, svc: Svc, who: Editor, asset_id: AssetId) -> Response:
    return thumbnail_response(request, svc, trash.trashed_asset(svc.lib, asset_id))


def _target(ids: list[str]) -> str:
    return ids[0] if len(ids) == 1 else f"{len(ids)} assets"
