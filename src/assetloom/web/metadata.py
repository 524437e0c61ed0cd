"""Inline metadata editing on the asset page: one plain HTML form (no script) for the texts,
rights, rating, status and custom fields, and small forms to add, remove or reject tags.

Each form carries the session's CSRF token, needs an editor, is audited like the API's
writes, and answers 303 back to the asset page (a reload repeats nothing); a bad value comes
back as the page with the error above the form. Only the fields whose value changed are
sent to the use case, so saving the form leaves untouched fields as "from the file".
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from assetloom.accounts import Role
from assetloom.api.auth import audited, check_csrf
from assetloom.api.context import Svc
from assetloom.errors import AssetLoomError
from assetloom.web.routes import Who, render_error, templates

router = APIRouter(include_in_schema=False)
_TEXTS = ("title", "description", "creator", "copyright", "licence")


def metadata_context(request: Request, asset_id: str) -> dict[str, Any]:
    """What the asset page's metadata section shows (a template global: the page's own
    handler stays as it is)."""
    lib = request.app.state.services.lib
    return {
        "meta": lib.metadata([asset_id])[0].to_json(),
        "fields": [f.to_json() for f in lib.metadata_fields().fields],
        "history": [e.to_json() for e in lib.metadata_history(asset_id).entries[:50]],
        "error": request.query_params.get("meta_error", "")[:500],
    }


templates.env.globals["metadata_context"] = metadata_context


def _back(asset_id: str, error: str = "") -> RedirectResponse:
    query = f"?meta_error={quote(error)}" if error else ""
    return RedirectResponse(f"/assets/{asset_id}{query}#metadata", status_code=303)


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]


@router.post("/assets/{asset_id}/meta")
async def save_meta(request: Request, svc: Svc, who: Who, asset_id: str) -> Response:
    form = await request.form()
    if not who.can(Role.EDITOR):
        return _forbidden(request)
    check_csrf(who, str(form.get("csrf_token", "")))
    full = svc.lib.get_for(asset_id, reviewer=who.role is Role.ADMIN).asset_id
    current = svc.lib.metadata([full])[0].to_json()

    def text(name: str) -> str:
        return str(form.get(name, ""))[:20_000].strip()

    patch: dict[str, Any] = {}
    for key in _TEXTS:
        if key in form and text(key) != current[key]:
            patch[key] = text(key)
    if "keywords" in form and _split(text("keywords")) != current["keywords"]:
        patch["keywords"] = _split(text("keywords"))
    usage: dict[str, Any] = {}
    if "expires" in form and (text("expires") or None) != current["usage"]["expires"]:
        usage["expires"] = text("expires") or None
    for key in ("channels", "approved_for"):
        if key in form and _split(text(key)) != current["usage"][key]:
            usage[key] = _split(text(key))
    if usage:
        patch["usage"] = usage
    if "rating" in form:
        rating = text("rating")
        value: Any = int(rating) if rating.lstrip("-").isdigit() else (rating or None)
        if value != current["rating"]:
            patch["rating"] = value
    if "status" in form and (text("status") or None) != current["status"]:
        patch["status"] = text("status") or None
    custom = {}
    for key in form:
        if key.startswith("field."):
            name, value = key[6:], text(key)
            if (value or None) != (str(current["fields"].get(name, "")) or None):
                custom[name] = value or None
    if custom:
        patch["fields"] = custom
    if not patch:
        return _back(full)
    try:
        with audited(request, svc, who, "asset.meta", full) as detail:
            done = svc.lib.set_metadata([full], patch, actor=who.name)
            detail.update(fields=sorted(patch), updated=done.updated)
    except AssetLoomError as exc:
        return _back(full, exc.message)
    return _back(full)


@router.post("/assets/{asset_id}/tags")
def change_tag(
    request: Request,
    svc: Svc,
    who: Who,
    asset_id: str,
    tag: Annotated[str, Form(max_length=64)],
    action: Annotated[str, Form(pattern="^(add|remove|reject)$")],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not who.can(Role.EDITOR):
        return _forbidden(request)
    check_csrf(who, csrf_token)
    full = svc.lib.get_for(asset_id, reviewer=who.role is Role.ADMIN).asset_id
    try:
        with audited(request, svc, who, f"tag.{action}", full) as detail:
            detail.update(tag=tag)
            if action == "reject":
                svc.lib.reject_tag(full, tag, actor=who.name)
            else:
                change = {"add": [tag]} if action == "add" else {"remove": [tag]}
                svc.lib.change_tags([full], actor=who.name, **change)
    except AssetLoomError as exc:
        return _back(full, exc.message)
    return _back(full)


def _forbidden(request: Request) -> Response:
    return render_error(
        request, 403, {"code": "forbidden", "message": "only editors can change metadata"}
    )
