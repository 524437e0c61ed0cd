"""Web pages. Each page calls the same view functions as the JSON API; the interactive parts
(upload, verify, image search, duplicate review) are small scripts calling the API itself.

Sign-in uses a session cookie (HttpOnly, SameSite=Lax); every form and every script write
carries the session's CSRF token. The sign-in form itself is protected by a double-submit
cookie, since there is no session yet.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from assetloom.accounts import Principal, Role
from assetloom.accounts.errors import AuthenticationError, RateLimitedError
from assetloom.accounts.service import printable
from assetloom.api.auth import (
    ANONYMOUS,
    SESSION_COOKIE,
    check_csrf,
    client_address,
    record,
)
from assetloom.api.context import Services, Svc
from assetloom.api.jobs import project_json, studio_jobs
from assetloom.api.views import MAX_CURSOR, asset_doc, asset_list, search_doc, tag_filters
from assetloom.app.browse import timeline
from assetloom.app.results import clock
from assetloom.app.search import SearchQuery
from assetloom.app.tags import used_tags
from assetloom.core.assets import MediaType
from assetloom.core.listing import (
    SORT_KEYS,
    STATUSES,
    ListQuery,
    date_bound,
    month_bounds,
    sort_key,
    status_filter,
)
from assetloom.core.lookups import is_lookup
from assetloom.create.generators.registry import registered
from assetloom.create.plan import FORMATS, OUTPUT_KINDS
from assetloom.errors import AssetLoomError, BadInputError, ProjectNotFoundError
from assetloom.web import i18n

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["clock"] = clock
templates.env.tests["lookup"] = is_lookup
i18n.install(templates.env)
router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "assetloom_login_csrf"
PAGE_SIZE = 60
SNIPPET = 280
"""Characters of a text asset's start shown on its tile."""
MAX_SELECT = 10_000
"""Ids "select all results" takes at most: what one bulk call accepts."""


class SignInRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def page_principal(request: Request, svc: Svc) -> Principal:
    """The signed-in user for a page, anonymous with --public-read, else off to /login."""
    secret = request.cookies.get(SESSION_COOKIE)
    principal: Principal | None = None
    if secret:
        try:
            principal = svc.accounts.principal_for_session(secret)
        except AuthenticationError:
            principal = None
    if principal is None and svc.settings.public_read:
        principal = ANONYMOUS
    if principal is None:
        raise SignInRequired(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    request.state.principal = principal
    return principal


Who = Annotated[Principal, Depends(page_principal)]


def render(
    request: Request, name: str, who: Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {"who": who, "can_edit": bool(who and who.can(Role.EDITOR)), **context},
        status_code=status,
    )


def sign_in_redirect(next_url: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(next_url, safe='')}", status_code=303)


def render_error(request: Request, status: int, body: dict[str, Any]) -> HTMLResponse:
    who = getattr(request.state, "principal", None)
    return render(request, "error.html", who, status=status, error=body, status_code=status)


# ---------------------------------------------------------------------- sign-in
@router.get("/login")
def login_form(
    request: Request, svc: Svc, next: Annotated[str, Query(max_length=2000)] = "/"
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, next=_local(next), csrf=token, error=None)
    _set_cookie(response, svc, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
def login(
    request: Request,
    svc: Svc,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=100)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_again(request, svc, next, "The sign-in form expired; please try again.", 400)
    client = client_address(request)
    try:
        svc.limiter.check(client, username)
        user = svc.accounts.authenticate(username, password)
    except RateLimitedError as exc:
        page = _login_again(request, svc, next, f"Too many failed sign-ins: {exc.hint}.", 429)
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    except AuthenticationError:
        svc.limiter.failed(client, username)
        svc.metrics.login_failures.inc()
        shown = printable(username, 64)  # whatever was typed: escaped, as long as a name
        record(request, svc, shown, "session.login", shown, outcome="unauthenticated")
        return _login_again(request, svc, next, "Wrong user name or password.", 401)
    svc.limiter.succeeded(client, username)
    lifetime = timedelta(hours=svc.settings.session_hours)
    session = svc.accounts.start_session(user, client, lifetime)
    record(request, svc, user.name, "session.login", user.name)
    response = RedirectResponse(_local(next), status_code=303)
    _set_cookie(response, svc, SESSION_COOKIE, session.secret, int(lifetime.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(
    request: Request,
    svc: Svc,
    who: Who,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if who.via == "session":
        check_csrf(who, csrf_token)
        svc.accounts.end_session(request.cookies.get(SESSION_COOKIE, ""))
        record(request, svc, who.name, "session.logout", who.name)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _login_again(request: Request, svc: Services, next: str, error: str, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None, status=status, next=_local(next), csrf=token, error=error
    )
    _set_cookie(response, svc, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def _set_cookie(response: Response, svc: Services, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=svc.settings.secure_cookies,
    )


def _local(url: str) -> str:
    """Only redirect within this site (no //host or scheme: open redirects)."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


@router.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page links (a page without a link, like
    the API docs, or a bookmark): the same icon, so none of them logs a 404."""
    return FileResponse(
        STATIC_DIR / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/ui/lang/{locale}")
def switch_language(
    request: Request, svc: Svc, locale: str, next: Annotated[str, Query(max_length=2000)] = "/"
) -> Response:
    """The header's language switch: remembered in a cookie for a year."""
    if locale not in i18n.LOCALES:
        raise BadInputError(f"no UI language {locale!r}; there are {', '.join(i18n.LOCALES)}")
    response = RedirectResponse(_local(next), status_code=303)
    _set_cookie(response, svc, i18n.LANG_COOKIE, locale, max_age=365 * 86400)
    return response


# ---------------------------------------------------------------------- pages
def _grid_query(
    type: Annotated[str, Query(max_length=16)] = "",
    tag: Annotated[list[str], Query()] = [],  # noqa: B006
    name: Annotated[str, Query(max_length=255)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    order: Annotated[Literal["oldest", "newest"], Query()] = "oldest",
    sort: Annotated[str, Query(max_length=16)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    month: Annotated[str, Query(max_length=7)] = "",
    cursor: Annotated[str, Query(max_length=MAX_CURSOR)] = "",
) -> ListQuery:
    """The grid's filter form: its empty fields (type "all", no name, no date) mean no filter.
    Dates are whole days (the form's date fields), in UTC; `month` is a capture month (the
    timeline's links)."""
    captured = month_bounds(month)
    return ListQuery(
        media_type=_media_type(type),
        tags=tag_filters([t for t in tag if t]),
        since=date_bound(since, "since", end=False),
        until=date_bound(until, "until", end=True),
        name=name.strip() or None,
        newest_first=order == "newest",
        sort=sort_key(sort),
        status=status_filter(status),
        captured_since=captured[0],
        captured_until=captured[1],
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )


def _media_type(value: str) -> MediaType | None:
    try:
        return MediaType(value) if value else None
    except ValueError as exc:
        raise BadInputError(f"no media type {value!r}") from exc


GridQuery = Annotated[ListQuery, Depends(_grid_query)]


def _filters(q: ListQuery) -> dict[str, Any]:
    """The grid's filters as query parameters (its links keep them); defaults left out."""
    keep = {
        "type": q.media_type.value if q.media_type else None,
        "tag": q.tags,
        "name": q.name,
        "since": q.since.date().isoformat() if q.since else None,
        "until": q.until.date().isoformat() if q.until else None,
        "order": "newest" if q.newest_first else None,
        "sort": None if q.sort == "registered" else q.sort,
        "status": q.status,
        "month": q.captured_since.strftime("%Y-%m") if q.captured_since else None,
    }
    return {k: v for k, v in keep.items() if v}


def _form(svc: Services, q: ListQuery) -> dict[str, Any]:
    """What the filter bar of the library, timeline and map pages shows."""
    return {
        "media_type": q.media_type.value if q.media_type else "",
        "media_types": [m.value for m in MediaType],
        "name_filter": q.name or "",
        "newest": q.newest_first,
        "used_tags": used_tags(svc.lib),
        "tag_filter": q.tags[0] if q.tags else "",
        "since": q.since.date().isoformat() if q.since else "",
        "until": q.until.date().isoformat() if q.until else "",
        "sort": q.sort,
        "sort_keys": list(SORT_KEYS),
        "status_value": q.status or "",
        "statuses": list(STATUSES),
        "month": q.captured_since.strftime("%Y-%m") if q.captured_since else "",
        "filtered": bool(
            q.media_type or q.name or q.tags or q.since or q.until or q.status or q.captured_since
        ),
        "query_string": urlencode(
            {k: v for k, v in _filters(q).items() if k != "month"}, doseq=True
        ),
    }


def _with_snippets(svc: Services, assets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Text assets carry the start of their text, so their tile shows words, not a blank."""
    texts = [a["asset_id"] for a in assets if a["media_type"] == "text"]
    if not texts:
        return assets
    found = svc.lib.get_many(texts)
    for a in assets:
        if a["asset_id"] in found:
            excerpt = found[a["asset_id"]].metadata.get("excerpt")
            a["snippet"] = excerpt[:SNIPPET] if isinstance(excerpt, str) else None
    return assets


@router.get("/")
def library_page(request: Request, svc: Svc, who: Who, q: GridQuery) -> Response:
    doc = asset_list(svc.lib, q)
    return render(
        request,
        "library.html",
        who,
        page="library",
        view="grid",
        assets=_with_snippets(svc, doc["assets"]),
        total=doc["total"],
        next_url=_next_tiles(doc, q),
        **_form(svc, q),
    )


@router.get("/ui/tiles")
def tiles(request: Request, svc: Svc, who: Who, q: GridQuery) -> Response:
    """One more page of the library grid (infinite scroll): the page after `cursor`."""
    doc = asset_list(svc.lib, q)
    return render(
        request,
        "_tiles.html",
        who,
        assets=_with_snippets(svc, doc["assets"]),
        next_url=_next_tiles(doc, q),
    )


@router.get("/ui/ids")
def all_ids(svc: Svc, who: Who, q: GridQuery) -> dict[str, Any]:
    """Every asset id the grid's filters pass ("select all results"), at most MAX_SELECT."""
    ids: list[str] = []
    q.limit, q.cursor = 1000, None
    while len(ids) < MAX_SELECT:
        page = svc.lib.list(q)
        ids.extend(a.asset_id for a in page.assets)
        if page.next_cursor is None:
            break
        q.cursor = page.next_cursor
    return {"ids": ids[:MAX_SELECT], "truncated": len(ids) > MAX_SELECT}


def _next_tiles(doc: dict[str, Any], q: ListQuery) -> str | None:
    if doc["next_cursor"] is None:
        return None
    keep = {**_filters(q), "cursor": doc["next_cursor"]}
    return "/ui/tiles?" + urlencode(keep, doseq=True)


@router.get("/timeline")
def timeline_page(request: Request, svc: Svc, who: Who, q: GridQuery) -> Response:
    """Capture months with their counts; a month links to the grid of that month."""
    months = timeline(svc.lib, q)
    years: dict[str, list[Any]] = {}
    for m in months:
        years.setdefault(m.month[:4], []).append(m)
    return render(
        request,
        "timeline.html",
        who,
        page="library",
        view="timeline",
        years=years,
        most=max((m.assets for m in months), default=0),
        **_form(svc, q),
    )


@router.get("/map")
def map_page(request: Request, svc: Svc, who: Who, q: GridQuery) -> Response:
    """Assets with a GPS position as points on a world outline (no tiles: all offline); the
    page's script reads /api/v1/map with the same filters."""
    return render(request, "map.html", who, page="library", view="map", **_form(svc, q))


@router.get("/search")
async def search_page(request: Request, svc: Svc, who: Who) -> Response:
    """Words with the filter form's fields. Read by hand rather than through the API's
    SearchParams: the form sends empty fields for "any", which typed parameters refuse, and a
    bad field belongs on the page beside the form, not on an error page."""
    params = request.query_params
    results: list[dict[str, Any]] = []
    error = None
    text = params.get("q", "")[:1000]
    form = {
        "media_type": params.get("type", ""),
        "tag_filter": params.get("tag", ""),
        "since": params.get("since", ""),
        "until": params.get("until", ""),
        "status_value": params.get("status", ""),
    }
    try:
        query = SearchQuery(
            text=text,
            media_type=_media_type(form["media_type"]),
            tags=svc.lib.filter_tags([form["tag_filter"]]) if form["tag_filter"] else [],
            since=date_bound(form["since"][:40], "since", end=False),
            until=date_bound(form["until"][:40], "until", end=True),
            status=status_filter(form["status_value"]),
            min_width=_number(params.get("min_width", ""), "min_width", int) or None,
            min_height=_number(params.get("min_height", ""), "min_height", int) or None,
            min_score=_number(params.get("min_score", ""), "min_score", float) or 0.0,
            limit=_limit(params.get("limit", "")),
        )
        if text.strip():
            results = (await svc.compute(_search, svc, query))["results"]
            results = _with_snippets(svc, results)
    except AssetLoomError as exc:
        error = exc.message + (f" ({exc.hint})" if exc.hint and "--" not in exc.hint else "")
    return render(
        request,
        "search.html",
        who,
        page="search",
        q=text,
        results=results,
        error=error,
        media_types=[m.value for m in MediaType],
        statuses=list(STATUSES),
        used_tags=used_tags(svc.lib),
        filtered=any(form.values()),
        **form,
    )


def _limit(value: str) -> int:
    return min(max(_number(value, "limit", int), 1), 1000) if value else 20


def _number(value: str, name: str, kind: type[int] | type[float]) -> Any:
    """A number field of the search page's URL (the API's SearchParams has the same ones)."""
    if not value:
        return 0
    try:
        number = kind(value)
    except ValueError as exc:
        raise BadInputError(f"{name} {value[:20]!r} is not a number") from exc
    if number < 0:
        raise BadInputError(f"{name} must not be negative")
    return number


def _search(svc: Services, query: SearchQuery) -> dict[str, Any]:
    with svc.metrics.operation.labels("search_text").time():
        return search_doc(svc.lib.search(query))


@router.get("/assets/{asset_id}")
def asset_page(request: Request, svc: Svc, who: Who, asset_id: str) -> Response:
    asset = svc.lib.get_for(asset_id, reviewer=who.role is Role.ADMIN)
    doc = asset_doc(svc.lib, asset)
    tags: list[dict[str, Any]] = []
    if svc.lib.settings.understanding:
        tags = svc.lib.tags_of(asset.asset_id)[1]
    metadata = {k: v for k, v in doc["metadata"].items() if k != "excerpt"}
    return render(
        request,
        "asset.html",
        who,
        page="library",
        asset=doc,
        metadata=metadata,
        excerpt=doc["metadata"].get("excerpt"),
        tags=tags,
    )


@router.get("/upload")
def upload_page(request: Request, who: Who) -> Response:
    return render(request, "upload.html", who, page="upload")


@router.get("/verify")
def verify_page(request: Request, who: Who) -> Response:
    return render(request, "verify.html", who, page="verify")


@router.get("/duplicates")
def duplicates_page(request: Request, who: Who) -> Response:
    return render(request, "duplicates.html", who, page="duplicates")


@router.get("/admin")
def admin_page(request: Request, svc: Svc, who: Who) -> Response:
    if not who.can(Role.ADMIN):
        return render_error(
            request, 403, {"code": "forbidden", "message": "only admins can see this page"}
        )
    _, entries = svc.accounts.audit_log(limit=200)
    return render(
        request,
        "admin.html",
        who,
        page="admin",
        users=[u.to_json() for u in svc.accounts.list_users()],
        entries=[e.to_json() for e in entries],
        roles=[r.value for r in Role],
    )


@router.get("/account")
def account_page(request: Request, svc: Svc, who: Who) -> Response:
    tokens = [] if who.via == "anonymous" else svc.accounts.list_tokens(who.name)
    return render(
        request, "account.html", who, page="account", tokens=[t.to_json() for t in tokens]
    )


@router.get("/studio")
def studio_page(request: Request, who: Who) -> Response:
    """The create form; the run is a job of the API, followed from the page's script. Only
    backends without an argument are offered (one naming a URL or folder is for admins, from
    the API or the command line)."""
    backends: dict[str, list[str]] = {}
    for reg in registered():
        if reg.argument is None:
            backends.setdefault(reg.kind, []).append(reg.name)
    return render(
        request,
        "studio.html",
        who,
        page="studio",
        outputs=list(OUTPUT_KINDS),
        formats=list(FORMATS),
        backends=backends,
    )


@router.get("/studio/projects/{project_id}")
def project_page(request: Request, svc: Svc, who: Who, project_id: str) -> Response:
    """A project's report: outputs as tiles, quality figures, copyright flags, the plan; a run
    still going shows its steps as they come."""
    jobs = studio_jobs(request)
    try:
        doc = project_json(svc.lib, project_id)
    except ProjectNotFoundError:
        job = jobs.get(project_id)  # queued here, no project row yet (or raises again)
        doc = {**job, "project_id": job["job_id"], "plan": {}, "report": {}, "outputs": []}
    assets = svc.lib.get_many([o["asset_id"] for o in doc["outputs"]])
    outputs = [
        {
            **o,
            "original_name": assets[o["asset_id"]].original_name,
            "media_type": assets[o["asset_id"]].media_type.value,
        }
        for o in doc["outputs"]
        if o["asset_id"] in assets
    ]
    return render(
        request,
        "project.html",
        who,
        page="studio",
        project=doc,
        report=doc["report"],
        outputs=outputs,
        live=jobs.running(project_id) or doc["state"] == "running",
    )
