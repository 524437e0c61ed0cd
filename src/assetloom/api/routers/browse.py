"""Browsing beyond the list: the capture timeline, the map of assets with a GPS position, and
a zip download of many originals (the grid's bulk bar)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from assetloom.api.auth import Viewer, audited
from assetloom.api.context import Svc
from assetloom.api.schemas import errors
from assetloom.api.views import ListParams
from assetloom.app import browse
from assetloom.app.results import Shape

router = APIRouter(tags=["browse"], default_response_class=JSONResponse)


class ZipIn(BaseModel):
    ids: list[str] = Field(
        min_length=1,
        max_length=10_000,
        description=f"Asset ids, at most {browse.MAX_ZIP_ASSETS} (and "
        f"{browse.MAX_ZIP_BYTES // 1024**3} GiB) in one zip",
    )


class MonthOut(Shape):
    month: str = Field(description="YYYY-MM (UTC)")
    assets: int


class TimelineOut(Shape):
    months: list[MonthOut] = Field(description="Newest month first; uncaptured assets aside")


class PointOut(Shape):
    asset_id: str
    original_name: str
    latitude: float
    longitude: float


class MapOut(Shape):
    points: list[PointOut]
    truncated: bool = Field(description=f"More than {browse.MAP_POINTS} assets have a position")


@router.post(
    "/api/v1/assets/zip",
    summary="The originals of these assets in one zip (streamed; names kept, clashes numbered)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}, **errors(400, 401, 404, 422)},
)
def zip_download(request: Request, svc: Svc, who: Viewer, body: ZipIn) -> StreamingResponse:
    with audited(request, svc, who, "assets.zip", f"{len(body.ids)} assets") as detail:
        assets = browse.zip_selection(svc.lib, body.ids)
        detail.update(assets=len(assets), bytes=sum(a.size for a in assets))
    name = f"assetloom-{len(assets)}-assets.zip"
    return StreamingResponse(
        browse.zip_stream(svc.lib, assets),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/api/v1/timeline",
    summary="Capture months with their asset counts (the list's filters apply)",
    response_model=TimelineOut,
    responses=errors(400, 401),
)
def timeline(svc: Svc, who: Viewer, params: Annotated[ListParams, Depends()]) -> TimelineOut:
    months = browse.timeline(svc.lib, params.query)
    return TimelineOut(months=[MonthOut(month=m.month, assets=m.assets) for m in months])


@router.get(
    "/api/v1/map",
    summary="Assets with a GPS position (the list's filters apply), oldest first",
    response_model=MapOut,
    responses=errors(400, 401),
)
def map_points(svc: Svc, who: Viewer, params: Annotated[ListParams, Depends()]) -> MapOut:
    points = browse.map_points(svc.lib, params.query, limit=browse.MAP_POINTS + 1)
    return MapOut(
        points=[
            PointOut(
                asset_id=p.asset_id,
                original_name=p.original_name,
                latitude=p.latitude,
                longitude=p.longitude,
            )
            for p in points[: browse.MAP_POINTS]
        ],
        truncated=len(points) > browse.MAP_POINTS,
    )
