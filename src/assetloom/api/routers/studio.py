"""The studio over HTTP: create and re-purpose as background jobs, their progress and
cancellation, the stored projects, and any asset's lineage."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from assetloom.accounts import Principal, Role
from assetloom.accounts.errors import PermissionDeniedError
from assetloom.api.auth import Editor, Viewer, audited
from assetloom.api.context import Services, Svc
from assetloom.api.errors import PayloadTooLargeError
from assetloom.api.jobs import StudioJobs, project_json, studio_jobs
from assetloom.api.schemas import (
    CreateIn,
    JobOut,
    LineageOut,
    ProjectOut,
    RepurposeIn,
    errors,
)
from assetloom.api.uploads import receive
from assetloom.app.studio import Request as StudioRequest
from assetloom.app.studio import Studio, lineage
from assetloom.create.generators.registry import parse_backends
from assetloom.errors import BadInputError, UnsupportedMediaError


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The job runner lives as long as the app; it stops before the library closes."""
    jobs = StudioJobs(app.state.services.lib)
    await anyio.to_thread.run_sync(jobs.open)
    app.state.studio_jobs = jobs
    try:
        yield
    finally:
        await anyio.to_thread.run_sync(jobs.close)


router = APIRouter(tags=["studio"], default_response_class=JSONResponse, lifespan=_lifespan)
Jobs = Annotated[StudioJobs, Depends(studio_jobs)]
AssetId = Annotated[
    str,
    PathParam(
        min_length=1, max_length=64, description="Asset id or a unique prefix of it (4+ chars)"
    ),
]
JobId = Annotated[
    str, PathParam(min_length=1, max_length=64, description="The job's (and project's) id")
]
M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 256 * 1024
"""A brief without files (JSON or a urlencoded form) is a paragraph, not megabytes."""
STYLE_FIELD = "style_ref"
_FORM_FIELDS = {
    "brief": {"type": "string"},
    "lang": {"type": "string", "enum": ["zh", "en"]},
    "outputs": {"type": "string", "description": "Comma-separated, or repeated"},
    "formats": {"type": "string", "description": "Comma-separated, or repeated"},
    "backend": {"type": "array", "items": {"type": "string"}},
    "seed": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
}
_MULTIPART = {
    "type": "object",
    "required": ["brief"],
    "properties": {
        **_FORM_FIELDS,
        STYLE_FIELD: {"type": "string", "format": "binary"},
    },
}
CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": _MULTIPART},
            "application/x-www-form-urlencoded": {
                "schema": {**_MULTIPART, "properties": _FORM_FIELDS}
            },
            "application/json": {"schema": CreateIn.model_json_schema()},
        },
    }
}
_ACCEPTED = {202: {"description": "Queued: poll `job_url`", "model": JobOut}}


@router.post(
    "/api/v1/create",
    summary="Make a campaign from a brief as a background job (like `create --json`)",
    description="Multipart (with an optional style reference image in `style_ref`) or JSON. "
    "The answer is the queued job: poll `GET /api/v1/jobs/{id}` for its steps and result.",
    status_code=202,
    openapi_extra=CREATE_BODY,
    response_model=JobOut,
    responses={**_ACCEPTED, **errors(400, 401, 403, 413, 415)},
)
async def create(request: Request, svc: Svc, who: Editor, jobs: Jobs) -> dict[str, Any]:
    job_id = jobs.new_id()
    with audited(request, svc, who, "studio.create", job_id):
        try:
            body, style = await _create_body(request, svc, jobs, job_id)
            req = StudioRequest(
                body.brief,
                style_ref=style,
                language=body.lang,
                outputs=list(body.outputs) if body.outputs else None,
                formats=list(body.formats) if body.formats else None,
                backends=body.backend,
                seed=body.seed,
            )
            await svc.compute(_check, svc, who, req)
        except BaseException:
            shutil.rmtree(jobs.root / job_id, ignore_errors=True)
            raise
        return jobs.submit(job_id, req, who.name)


@router.post(
    "/api/v1/assets/{asset_id}/repurpose",
    summary="New versions of an image asset as a background job (like `repurpose --json`)",
    status_code=202,
    response_model=JobOut,
    responses={**_ACCEPTED, **errors(400, 401, 403, 404)},
)
async def repurpose(
    request: Request, svc: Svc, who: Editor, jobs: Jobs, asset_id: AssetId, body: RepurposeIn
) -> dict[str, Any]:
    with audited(request, svc, who, "studio.repurpose", asset_id) as detail:
        req = await svc.compute(_repurposing, svc, who, asset_id, body)
        job = jobs.submit(jobs.new_id(), req, who.name)
        detail.update(job_id=job["job_id"], asset_id=req.source_asset)
        return job


@router.get(
    "/api/v1/jobs/{job_id}",
    summary="A studio job: its state, steps with times, and the result once done",
    response_model=JobOut,
    responses=errors(401, 404),
)
def get_job(svc: Svc, who: Viewer, jobs: Jobs, job_id: JobId) -> dict[str, Any]:
    return jobs.get(job_id)


@router.delete(
    "/api/v1/jobs/{job_id}",
    summary="Cancel a studio job (queued: at once; running: before its next output)",
    description="Outputs are registered together at the end, so a cancelled run registers "
    "none of them; a finished job is answered as it is.",
    response_model=JobOut,
    responses=errors(400, 401, 403, 404),
)
def cancel_job(
    request: Request, svc: Svc, who: Editor, jobs: Jobs, job_id: JobId
) -> dict[str, Any]:
    with audited(request, svc, who, "studio.cancel", job_id):
        return jobs.cancel(job_id)


@router.post(
    "/api/v1/jobs/{job_id}/rerun",
    summary="Run an interrupted, cancelled or failed project's request again, as a new job",
    status_code=202,
    response_model=JobOut,
    responses={**_ACCEPTED, **errors(400, 401, 403, 404)},
)
async def rerun_job(
    request: Request, svc: Svc, who: Editor, jobs: Jobs, job_id: JobId
) -> dict[str, Any]:
    with audited(request, svc, who, "studio.rerun", job_id) as detail:
        job = await anyio.to_thread.run_sync(jobs.rerun, job_id, who.name)
        detail.update(job_id=job["job_id"])
        return job


@router.get(
    "/api/v1/projects/{project_id}",
    summary="A studio project as stored: request, plan, report, outputs with recipes",
    response_model=ProjectOut,
    responses=errors(401, 404),
)
def get_project(svc: Svc, who: Viewer, project_id: JobId) -> dict[str, Any]:
    return project_json(svc.lib, project_id)


@router.get(
    "/api/v1/assets/{asset_id}/lineage",
    summary="What an asset was made from, and what was made from it (like `lineage --json`)",
    response_model=LineageOut,
    responses=errors(401, 404),
)
def asset_lineage(svc: Svc, who: Viewer, asset_id: AssetId) -> dict[str, Any]:
    return lineage(svc.lib, asset_id)


# ---------------------------------------------------------------------- helpers
def _repurposing(svc: Services, who: Principal, asset_id: str, body: RepurposeIn) -> StudioRequest:
    base = StudioRequest(
        "",
        outputs=list(body.outputs) if body.outputs else None,
        formats=list(body.formats) if body.formats else None,
        backends=body.backend,
        seed=body.seed,
    )
    req = Studio(svc.lib).repurposing(asset_id, body.instruction, base)
    _check(svc, who, req)
    return req


def _check(svc: Services, who: Principal, req: StudioRequest) -> None:
    """Refuse what the run would refuse, now (400), and backends that reach out (a URL, a
    folder on the server) unless an admin asks: they make the server go where they name."""
    Studio(svc.lib).check(req)
    if not who.can(Role.ADMIN):
        for choice in parse_backends(req.backends).values():
            if choice.argument:
                raise PermissionDeniedError(
                    f"the backend {choice} names a URL or folder for the server to use; "
                    "only admins may choose one",
                    hint="use a backend without an argument, or ask an admin",
                )


async def _create_body(
    request: Request, svc: Svc, jobs: StudioJobs, job_id: str
) -> tuple[CreateIn, Path | None]:
    """The request's fields, and its style reference moved into the job's folder."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        return _validated(CreateIn, _json(await _body(request))), None
    if kind == "application/x-www-form-urlencoded":
        fields = parse_qs((await _body(request)).decode("utf-8", "replace"), max_num_fields=64)
        return _validated(CreateIn, _form_fields(fields)), None
    if kind != "multipart/form-data":
        raise UnsupportedMediaError(
            "send the brief as multipart/form-data, a urlencoded form or JSON",
            hint='e.g. curl -F brief="..." -F style_ref=@look.jpg URL',
        )
    folder = svc.staging.new_folder()
    try:
        upload = await receive(request, folder, svc.upload_limits, frozenset({STYLE_FIELD}))
        body = _validated(CreateIn, _form_fields(upload.fields))
        if len(upload.files) > 1:
            raise BadInputError(f"send one style reference in `{STYLE_FIELD}`")
        style = None
        if upload.files:
            kept = jobs.folder(job_id) / upload.files[0].name
            await anyio.to_thread.run_sync(shutil.move, upload.files[0].path, kept)
            style = kept
        return body, style
    finally:
        await anyio.to_thread.run_sync(svc.staging.discard, folder)


def _form_fields(fields: dict[str, list[str]]) -> dict[str, Any]:
    """Form fields as CreateIn reads them: empty ones left out (a form's "auto"), lists from
    repeated or comma-separated values."""
    doc: dict[str, Any] = {}
    for name, values in fields.items():
        values = [v.strip() for v in values if v.strip()]
        if not values:
            continue
        if name in ("outputs", "formats"):
            doc[name] = [part.strip() for v in values for part in v.split(",") if part.strip()]
        elif name == "backend":
            doc[name] = values
        else:
            doc[name] = values[-1]
    return doc


async def _body(request: Request) -> bytes:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"the body is over {MAX_BODY_BYTES} bytes")
    return bytes(raw)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"the body is not JSON ({exc})") from exc


def _validated(model: type[M], doc: Any) -> M:
    """`doc` as `model`, or the 422 FastAPI gives for its own bodies."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc
