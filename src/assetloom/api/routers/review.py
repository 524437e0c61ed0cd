"""Moderation review (admins): the queue, and approving or rejecting an asset in it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from assetloom.api.auth import Admin, audited
from assetloom.api.context import Svc
from assetloom.api.schemas import errors
from assetloom.app.review import ReviewDecisionOut, ReviewQueueOut

router = APIRouter(prefix="/api/v1/review", tags=["review"], default_response_class=JSONResponse)

AssetId = Annotated[
    str,
    PathParam(
        min_length=1, max_length=64, description="Asset id or a unique prefix of it (4+ chars)"
    ),
]


@router.get(
    "",
    summary="Assets moderation flagged or quarantined, oldest first (like `review list --json`)",
    response_model=ReviewQueueOut,
    responses=errors(401, 403),
)
def review_queue(svc: Svc, who: Admin) -> ReviewQueueOut:
    return svc.lib.review_queue()


@router.post(
    "/{asset_id}/approve",
    summary="Approve an asset: visible again, out of the queue (like `review approve --json`)",
    response_model=ReviewDecisionOut,
    responses=errors(400, 401, 403, 404),
)
def approve(request: Request, svc: Svc, who: Admin, asset_id: AssetId) -> ReviewDecisionOut:
    with audited(request, svc, who, "review.approve", asset_id) as detail:
        decided = svc.lib.approve(asset_id)
        detail.update(asset_id=decided.asset_id, was=decided.was)
    return decided


@router.post(
    "/{asset_id}/reject",
    summary="Reject an asset: removed as DELETE /assets/{id} removes (like `review reject`)",
    response_model=ReviewDecisionOut,
    responses=errors(400, 401, 403, 404),
)
def reject(request: Request, svc: Svc, who: Admin, asset_id: AssetId) -> ReviewDecisionOut:
    with audited(request, svc, who, "review.reject", asset_id) as detail:
        decided = svc.lib.reject(asset_id)
        detail.update(asset_id=decided.asset_id, was=decided.was)
    return decided
