"""Liveness, readiness and Prometheus metrics (unauthenticated: they reveal no library data)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from assetloom.api.context import Svc
from assetloom.api.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up", responses={200: {"model": HealthOut}})
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    summary="Indexes (and models, when understanding is on) are loaded",
    responses={200: {"model": ReadyOut}, 503: {"model": ReadyOut}},
)
def readyz(svc: Svc) -> JSONResponse:
    ready = svc.ready.is_set() and svc.warm_up_error is None
    checks = {
        "library": "ok",
        "warm_up": "ok" if ready else (svc.warm_up_error or "loading"),
    }
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics(svc: Svc) -> Response:
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)
