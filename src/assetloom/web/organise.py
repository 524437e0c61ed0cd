"""Web pages for collections, the trash and share links, and the visitor pages of a link.

Signed-in pages are plain HTML forms carrying the session's CSRF token (each write recorded
in the audit log like the API's, then a 303 back); moving to the trash and its undo are small
scripts (static/organise.js) calling the JSON API.

Visitors of `/s/{token}` need no account and see only what the link covers: its assets'
thumbnails, previews and (if allowed) originals, each looked up by exact id against the link
(app/shares.py). Every refusal is the same 404. Their pages send no referrer, so the token
never leaks to another site, and are never cached or indexed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from assetloom.accounts import Role
from assetloom.accounts.errors import RateLimitedError
from assetloom.api.auth import audited, check_csrf, client_address
from assetloom.api.context import Services, Svc
from assetloom.api.routers.assets import file_response
from assetloom.app import collections, shares, trash
from assetloom.app.collections import SavedSearch
from assetloom.app.results import AssetOut
from assetloom.errors import AssetLoomError, ShareNotFoundError
from assetloom.web.routes import Who, render, render_error

router = APIRouter(include_in_schema=False)
SHARE_COOKIE = "assetloom_share"
VISITOR_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
}
LINK_TTL_S = 300
PAGE = 120


# ---------------------------------------------------------------------- collections
@router.get("/collections")
def collections_page(request: Request, svc: Svc, who: Who) -> Response:
    listed = collections.list_all(svc.lib).collections
    return render(
        request,
        "collections.html",
        who,
        page="collections",
        collections=[c.to_json() for c in listed],
        parents=[c.name for c in listed if c.parent is None and not c.smart],
    )


@router.post("/collections")
def create_collection(
    request: Request,
    svc: Svc,
    who: Who,
    name: Annotated[str, Form(max_length=200)],
    parent: Annotated[str, Form(max_length=200)] = "",
    q: Annotated[str, Form(max_length=1000)] = "",
    tag: Annotated[list[str], Form()] = [],  # noqa: B006
    type: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A collection, or (with q, tag or type: the search page's "save this search") a
    smart one."""
    if not who.can(Role.EDITOR):
        return _forbidden(request, "only editors can make collections")
    check_csrf(who, csrf_token)
    smart = bool(q.strip() or any(t.strip() for t in tag) or type)
    saved = SavedSearch(text=q, tags=tag, media_type=type or None) if smart else None
    try:
        with audited(request, svc, who, "collection.create", name) as detail:
            made = collections.create(
                svc.lib, name, by=who.name, parent=parent or None, query=saved
            )
            detail.update(parent=made.parent, query=made.query)
    except AssetLoomError as exc:
        return _bad(request, exc)
    return RedirectResponse(_collection_url(made.name), status_code=303)


@router.get("/collections/{name}")
def collection_page(
    request: Request,
    svc: Svc,
    who: Who,
    name: str,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    shown = collections.show(svc.lib, name, limit=PAGE, offset=offset)
    links = (
        [s.to_json() for s in shares.list_all(svc.lib).shares if s.collection == shown.name]
        if who.can(Role.EDITOR)
        else []
    )
    return render(
        request,
        "collection.html",
        who,
        page="collections",
        c=shown.to_json(),
        assets=[a.to_json() for a in shown.assets],
        shares=links,
        next_offset=offset + PAGE if offset + PAGE < shown.total else None,
    )


@router.post("/collections/{name}/{action}")
def change_collection(
    request: Request,
    svc: Svc,
    who: Who,
    name: str,
    action: str,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    new_name: Annotated[str, Form(max_length=200)] = "",
    asset_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """rename, delete, cover (asset_id), remove (asset_id)."""
    if not who.can(Role.EDITOR):
        return _forbidden(request, "only editors can change collections")
    check_csrf(who, csrf_token)
    back = _collection_url(name)
    try:
        with audited(request, svc, who, f"collection.{action}", name) as detail:
            if action == "rename":
                back = _collection_url(collections.update(svc.lib, name, new_name=new_name).name)
                detail["new_name"] = new_name
            elif action == "delete":
                collections.delete(svc.lib, name)
                back = "/collections"
            elif action == "cover":
                collections.update(svc.lib, name, cover=asset_id, set_cover=True)
                detail["cover"] = asset_id
            elif action == "remove":
                collections.remove(svc.lib, name, [asset_id])
                detail["ids"] = [asset_id]
            else:
                return render_error(request, 404, {"code": "not_found", "message": "no such page"})
    except AssetLoomError as exc:
        return _bad(request, exc)
    return RedirectResponse(back, status_code=303)


@router.post("/collections/{name}/share/new")
def share_collection(
    request: Request,
    svc: Svc,
    who: Who,
    name: str,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    expires: Annotated[str, Form(max_length=32)] = shares.DEFAULT_EXPIRY,
    password: Annotated[str, Form(max_length=1024)] = "",
    allow_download: Annotated[bool, Form()] = False,
) -> Response:
    """Make a link and show it once (the library keeps only its hash)."""
    if not who.can(Role.EDITOR):
        return _forbidden(request, "only editors can share")
    check_csrf(who, csrf_token)
    try:
        with audited(request, svc, who, "share.create", f"collection {name}") as detail:
            made = shares.create(
                svc.lib,
                by=who.name,
                base_url=svc.lib.settings.public_url or str(request.base_url),
                collection=name,
                expires=expires,
                password=password or None,
                allow_download=allow_download,
            )
            detail.update(share=made.id, prefix=made.prefix, expires_at=made.expires_at)
    except AssetLoomError as exc:
        return _bad(request, exc)
    return render(request, "share_made.html", who, page="collections", link=made.to_json())


@router.get("/shares")
def shares_page(request: Request, svc: Svc, who: Who) -> Response:
    """Every link (of collections and of single assets), with its state, uses and revoke."""
    if not who.can(Role.EDITOR):
        return _forbidden(request, "only editors can see the share links")
    listed = shares.list_all(svc.lib).shares
    return render(
        request, "shares.html", who, page="collections", shares=[s.to_json() for s in listed]
    )


@router.post("/shares/{share_id}/revoke")
def revoke_share(
    request: Request,
    svc: Svc,
    who: Who,
    share_id: int,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    back: Annotated[str, Form(max_length=300)] = "/collections",
) -> Response:
    if not who.can(Role.EDITOR):
        return _forbidden(request, "only editors can revoke links")
    check_csrf(who, csrf_token)
    try:
        with audited(request, svc, who, "share.revoke", str(share_id)) as detail:
            revoked = shares.revoke(svc.lib, str(share_id))
            detail.update(share=revoked.id, prefix=revoked.prefix)
    except AssetLoomError as exc:
        return _bad(request, exc)
    return RedirectResponse(
        back if back.startswith("/") and not back.startswith("//") else "/", 303
    )


# ---------------------------------------------------------------------- trash
@router.get("/trash")
def trash_page(
    request: Request, svc: Svc, who: Who, offset: Annotated[int, Query(ge=0)] = 0
) -> Response:
    if not who.can(Role.EDITOR):
        return _forbidden(request, "only editors can see the trash")
    listed = trash.trash_list(svc.lib, limit=PAGE, offset=offset)
    return render(
        request,
        "trash.html",
        who,
        page="trash",
        listed=listed.to_json(),
        next_offset=offset + PAGE if offset + PAGE < listed.total else None,
    )


@router.post("/trash/{action}")
def trash_action(
    request: Request,
    svc: Svc,
    who: Who,
    action: str,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    ids: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    """restore (ids), empty (admins: everything in the trash)."""
    if not who.can(Role.ADMIN if action == "empty" else Role.EDITOR):
        return _forbidden(request, "only admins can empty the trash")
    check_csrf(who, csrf_token)
    try:
        if action == "restore":
            with audited(request, svc, who, "trash.restore", _ids_target(ids)) as detail:
                detail["restored"] = len(trash.restore(svc.lib, ids).restored)
        elif action == "empty":
            with audited(request, svc, who, "trash.empty", "all") as detail:
                detail["ids"] = [a.asset_id for a in trash.empty(svc.lib).removed]
        else:
            return render_error(request, 404, {"code": "not_found", "message": "no such page"})
    except AssetLoomError as exc:
        return _bad(request, exc)
    return RedirectResponse("/trash", status_code=303)


# ---------------------------------------------------------------------- visitors
@router.get("/s/{token}")
def visit(request: Request, svc: Svc, token: str) -> Response:
    link = shares.open_link(svc.lib, token)
    if not shares.pass_ok(link, token, request.cookies.get(SHARE_COOKIE)):
        return _visitor(render(request, "share_password.html", None, token=token, wrong=False))
    total, assets = shares.covered(svc.lib, link, limit=PAGE)
    shares.count_use(
        svc.lib, link, "share.view", token[: shares.SHOWN_PREFIX], client_address(request)
    )
    return _visitor(
        render(
            request,
            "share_visit.html",
            None,
            token=token,
            title=shares.title_of(link, assets),
            total=total,
            assets=[_visible(a) for a in assets],
            allow_download=link.allow_download,
        )
    )


@router.post("/s/{token}")
def unlock(
    request: Request, svc: Svc, token: str, password: Annotated[str, Form(max_length=1024)] = ""
) -> Response:
    """A password-protected link: the right password sets a cookie for this link's pages."""
    link = shares.open_link(svc.lib, token)
    client, key = client_address(request), f"share:{link.id}"
    try:  # guesses are limited as sign-ins are: per address and per link
        svc.limiter.check(client, key)
    except RateLimitedError as exc:
        page = render(
            request, "share_password.html", None, status=429, token=token, retry=exc.retry_after_s
        )
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return _visitor(page)
    if not shares.password_ok(link, password):
        svc.limiter.failed(client, key)
        shares.count_use(svc.lib, link, "share.unlock", "wrong password", client, counted=False)
        page = render(request, "share_password.html", None, status=401, token=token, wrong=True)
        return _visitor(page)
    svc.limiter.succeeded(client, key)
    response = RedirectResponse(f"/s/{token}", status_code=303)
    response.set_cookie(
        SHARE_COOKIE,
        shares.pass_for(link, token),
        max_age=12 * 3600,
        path=f"/s/{token}",
        httponly=True,
        samesite="lax",
        secure=svc.settings.secure_cookies,
    )
    return _visitor(response)


@router.get("/s/{token}/a/{asset_id}")
def visit_asset(request: Request, svc: Svc, token: str, asset_id: str) -> Response:
    link, asset = _covered(request, svc, token, asset_id)
    shares.count_use(svc.lib, link, "share.view", asset.asset_id, client_address(request))
    return _visitor(
        render(
            request,
            "share_asset.html",
            None,
            token=token,
            a=_visible(asset),
            previews=svc.lib.previews(asset),
            allow_download=link.allow_download,
        )
    )


@router.get("/s/{token}/a/{asset_id}/thumbnail")
def visit_thumbnail(request: Request, svc: Svc, token: str, asset_id: str) -> Response:
    _, asset = _covered(request, svc, token, asset_id)
    where = svc.lib.thumbnail_download(asset, expires_s=LINK_TTL_S)
    if where is None:
        raise ShareNotFoundError(shares.GONE)
    return _visitor(_send(request, where, "image/webp", f'"{asset.sha256}.thumb"', None))


@router.get("/s/{token}/a/{asset_id}/previews/{name}")
def visit_preview(request: Request, svc: Svc, token: str, asset_id: str, name: str) -> Response:
    _, asset = _covered(request, svc, token, asset_id)
    where = svc.lib.preview_download(asset, name, expires_s=LINK_TTL_S)
    if where is None:
        raise ShareNotFoundError(shares.GONE)
    return _visitor(_send(request, where, "image/webp", f'"{asset.sha256}.{name}"', None))


@router.get("/s/{token}/a/{asset_id}/original")
def visit_original(request: Request, svc: Svc, token: str, asset_id: str) -> Response:
    link, asset = _covered(request, svc, token, asset_id)
    if not link.allow_download:
        raise ShareNotFoundError(shares.GONE)
    shares.count_use(svc.lib, link, "share.download", asset.asset_id, client_address(request))
    where = svc.lib.original_download(asset, expires_s=LINK_TTL_S)
    return _visitor(_send(request, where, asset.mime, f'"{asset.sha256}"', asset.original_name))


def _covered(request: Request, svc: Services, token: str, asset_id: str) -> tuple[Any, Any]:
    link = shares.open_link(svc.lib, token)
    if not shares.pass_ok(link, token, request.cookies.get(SHARE_COOKIE)):
        raise ShareNotFoundError(shares.GONE)
    return link, shares.covered_asset(svc.lib, link, asset_id)


def _send(request: Request, where: Any, mime: str, etag: str, filename: str | None) -> Response:
    if where.url is not None:
        return RedirectResponse(where.url, status_code=307)
    return file_response(request, where.path, mime, etag, filename)


def _visible(asset: Any) -> dict[str, Any]:
    """What a visitor's page may show of an asset: no paths, no metadata beyond its kind."""
    doc = AssetOut.of(asset).to_json()
    return {k: doc[k] for k in ("asset_id", "original_name", "media_type", "width", "height")}


def _visitor(response: Response) -> Response:
    response.headers.update(VISITOR_HEADERS)
    return response


# ---------------------------------------------------------------------- helpers
def _collection_url(name: str) -> str:
    from urllib.parse import quote

    return "/collections/" + quote(name, safe="")


def _ids_target(ids: list[str]) -> str:
    return ids[0] if len(ids) == 1 else f"{len(ids)} assets"


def _forbidden(request: Request, message: str) -> Response:
    return render_error(request, 403, {"code": "forbidden", "message": message})


def _bad(request: Request, exc: AssetLoomError) -> Response:
    from assetloom.api.errors import status_of

    body = {"code": exc.code, "message": exc.message, **({"hint": exc.hint} if exc.hint else {})}
    return render_error(request, status_of(exc), body)
