"""The transparency log: signed checkpoints, inclusion and consistency proofs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from assetloom.api.auth import Viewer
from assetloom.api.context import Svc
from assetloom.api.schemas import CheckpointOut, ConsistencyOut, ProofOut, errors

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])


@router.get(
    "/checkpoint",
    summary="Sign and return the current checkpoint (like `ledger checkpoint --json`)",
    responses={200: {"model": CheckpointOut}, **errors(401)},
)
def checkpoint(svc: Svc, who: Viewer) -> JSONResponse:
    return JSONResponse(svc.lib.ledger().checkpoint().to_dict())


@router.get(
    "/proof/{asset_id}",
    summary="Inclusion proof of an asset's registration (like `ledger proof --json`)",
    responses={200: {"model": ProofOut}, **errors(401, 404)},
)
def proof(
    svc: Svc, who: Viewer, asset_id: Annotated[str, Path(min_length=1, max_length=64)]
) -> JSONResponse:
    return JSONResponse(svc.lib.registration_proof(asset_id).to_dict())


@router.get(
    "/consistency",
    summary="Proof that the log at `old` is a prefix of the log at `new` (default: now)",
    responses={200: {"model": ConsistencyOut}, **errors(400, 401)},
)
def consistency(
    svc: Svc,
    who: Viewer,
    old: Annotated[int, Query(ge=1, le=2**62)],
    new: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> JSONResponse:
    return JSONResponse(svc.lib.ledger().consistency(old, new).to_dict())
