"""The tag vocabulary (built-in and the library's own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from assetloom.api.auth import Editor, Viewer, audited
from assetloom.api.context import Svc
from assetloom.api.schemas import TagDefineIn, errors
from assetloom.app.results import TagDefinedOut, TagsOut

# json.dumps, as `--json` prints (see routers/assets.py).
router = APIRouter(prefix="/api/v1/tags", tags=["tags"], default_response_class=JSONResponse)


@router.get(
    "",
    summary="Tags with how many assets carry each (like `tags list --json`)",
    response_model=TagsOut,
    responses=errors(401, 503),
)
def list_tags(
    svc: Svc,
    who: Viewer,
    used: Annotated[bool, Query(description="Only tags some asset has")] = False,
) -> TagsOut:
    return TagsOut(tags=svc.lib.list_tags(used=used))


@router.post(
    "",
    summary="Define a tag and apply it to every image (like `tags define --json`)",
    response_model=TagDefinedOut,
    responses=errors(400, 401, 403, 404, 503),
)
def define_tag(request: Request, svc: Svc, who: Editor, body: TagDefineIn) -> TagDefinedOut:
    with audited(request, svc, who, "tag.define", body.key) as detail:
        n = svc.lib.define_tag(body.key, body.name_en, body.name_zh, body.examples, body.threshold)
        detail["tagged"] = n
    return TagDefinedOut(key=body.key, tagged=n)
