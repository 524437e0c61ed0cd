"""The admin's moderation review page: the queue, with an approve and a reject form per asset.

Plain HTML forms carrying the session's CSRF token (no script); each decision is recorded in
the audit log like the API's, then the page is shown again (303, so a reload repeats nothing).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from assetloom.accounts import Role
from assetloom.api.auth import audited, check_csrf
from assetloom.api.context import Svc
from assetloom.web.routes import Who, render, render_error

router = APIRouter(include_in_schema=False)
PAGE = "/admin/review"


@router.get(PAGE)
def review_page(request: Request, svc: Svc, who: Who) -> Response:
    if not who.can(Role.ADMIN):
        return _forbidden(request)
    queue = svc.lib.review_queue()
    return render(
        request,
        "review.html",
        who,
        page="admin",
        items=[item.to_json() for item in queue.assets],
    )


@router.post(PAGE + "/{asset_id}/{action}")
def decide(
    request: Request,
    svc: Svc,
    who: Who,
    asset_id: str,
    action: Literal["approve", "reject"],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not who.can(Role.ADMIN):
        return _forbidden(request)
    check_csrf(who, csrf_token)
    with audited(request, svc, who, f"review.{action}", asset_id) as detail:
        decided = svc.lib.approve(asset_id) if action == "approve" else svc.lib.reject(asset_id)
        detail.update(asset_id=decided.asset_id, was=decided.was)
    return RedirectResponse(PAGE, status_code=303)


def _forbidden(request: Request) -> Response:
    return render_error(
        request, 403, {"code": "forbidden", "message": "only admins can review assets"}
    )
