"""Library answers as the API's response models, shared by the API routes and the web pages.

Each function is a call into `Library` plus the model `--json` prints (`app.results`), so a
web page, an API response and the CLI show the same thing. The `*_doc` forms are the same
documents as dicts, for the web's templates.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import Query

from assetloom.api.schemas import AssetDetailOut
from assetloom.app.library import Library
from assetloom.app.listing import list_result
from assetloom.app.results import AddReport, AssetListOut, SearchOut, VerifyOut
from assetloom.app.search import SearchHit, SearchQuery
from assetloom.core.assets import Asset, MediaType
from assetloom.core.listing import ListQuery, SortKey, Status, date_bound, month_bounds
from assetloom.errors import BadInputError

API = "/api/v1"
MAX_TAG_FILTERS = 50
MAX_CURSOR = 1200
"""A cursor under the name sort holds the last file name (up to 255 characters, UTF-8,
base64): longer than the registered sort's 60 characters."""
SINCE = Query(
    max_length=40,
    description="Registered on or after: YYYY-MM-DD (from 00:00 UTC) or an ISO date and time",
)
UNTIL = Query(
    max_length=40,
    description="Registered on or before: YYYY-MM-DD (to the end of that day, UTC) or an ISO "
    "date and time",
)
"""Each `tag=` is one more nested condition: SQLite refuses past ~1,000, and nobody filters
by fifty tags at once."""


def asset_detail(lib: Library, asset: Asset) -> AssetDetailOut:
    """`show --json` with download URLs instead of server file paths."""
    has_thumb = lib.thumbnail_key(asset) is not None
    return AssetDetailOut.of(
        asset,
        passages=lib.passages(asset.asset_id),
        original_url=f"{API}/assets/{asset.asset_id}/original",
        thumbnail_url=f"{API}/assets/{asset.asset_id}/thumbnail" if has_thumb else None,
        preview_urls=[f"{API}/assets/{asset.asset_id}/previews/{n}" for n in lib.previews(asset)],
    )


def asset_doc(lib: Library, asset: Asset) -> dict[str, Any]:
    return asset_detail(lib, asset).to_json()


def asset_page(lib: Library, query: ListQuery) -> AssetListOut:
    """`list --json`."""
    return list_result(lib.list(query), lib.count(query), query)


def asset_list(lib: Library, query: ListQuery) -> dict[str, Any]:
    return asset_page(lib, query).to_json()


class ListParams:
    """`list`'s options as query parameters."""

    def __init__(
        self,
        type: Annotated[MediaType | None, Query(description="Only this media type")] = None,
        tag: Annotated[list[str], Query(description="Only assets with all these tags (keys)")] = [],  # noqa: B006
        since: Annotated[str | None, SINCE] = None,
        until: Annotated[str | None, UNTIL] = None,
        name: Annotated[
            str | None, Query(max_length=255, description="Original file name contains this")
        ] = None,
        order: Annotated[
            Literal["oldest", "newest"], Query(description="Registration order")
        ] = "oldest",
        sort: Annotated[
            SortKey,
            Query(description="Sort by registered (default), captured, name, size or rating"),
        ] = "registered",
        desc: Annotated[
            bool, Query(description="Descending (order=newest is the same); no value last")
        ] = False,
        status: Annotated[Status | None, Query(description="Only assets with this status")] = None,
        month: Annotated[
            str | None, Query(max_length=7, description="Only assets captured in YYYY-MM (UTC)")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Annotated[
            int, Query(ge=0, le=2**62, description="Skip this many (after the cursor, if any)")
        ] = 0,
        cursor: Annotated[
            str | None,
            Query(
                max_length=MAX_CURSOR, description="`next_cursor` of the previous page, same order"
            ),
        ] = None,
    ) -> None:
        captured = month_bounds(month)
        self.query = ListQuery(
            media_type=type,
            tags=tag_filters(tag),
            since=date_bound(since, "since", end=False),
            until=date_bound(until, "until", end=True),
            name=name or None,
            newest_first=order == "newest" or desc,
            sort=sort,
            status=status,
            captured_since=captured[0],
            captured_until=captured[1],
            limit=limit,
            offset=offset,
            cursor=cursor or None,
        )


def search_results(hits: list[SearchHit]) -> SearchOut:
    """`search --json` / `similar --json`."""
    return SearchOut(results=[h.out() for h in hits])


def search_doc(hits: list[SearchHit]) -> dict[str, Any]:
    return search_results(hits).to_json()


def client_name(file: str, names: dict[str, str]) -> str:
    """An uploaded file as the client named it, never the server's path."""
    return names.get(file, file.rsplit("/", 1)[-1])


def report_for_client(report: AddReport, names: dict[str, str]) -> AddReport:
    """The add report with each uploaded file under the name the client sent."""
    return AddReport(
        added=[replace(o, file=client_name(o.file, names)) for o in report.added],
        present=[replace(o, file=client_name(o.file, names)) for o in report.present],
        skipped=[replace(s, file=client_name(s.file, names)) for s in report.skipped],
    )


def verify_for_client(verified: VerifyOut, names: dict[str, str]) -> VerifyOut:
    """The verdicts with each uploaded file under the name the client sent."""
    return VerifyOut(
        results=[
            r.model_copy(update={"file": client_name(r.file, names)}) for r in verified.results
        ]
    )


class SearchParams:
    """`search`'s options as query parameters (GET, and POST with an example image)."""

    def __init__(
        self,
        q: Annotated[str | None, Query(max_length=1000, description="Words, zh or en")] = None,
        like: Annotated[
            str | None, Query(max_length=64, description="Find more like this asset")
        ] = None,
        type: Annotated[MediaType | None, Query(description="Only this media type")] = None,
        tag: Annotated[list[str], Query(description="Only assets with these tags")] = [],  # noqa: B006
        since: Annotated[str | None, SINCE] = None,
        until: Annotated[str | None, UNTIL] = None,
        min_width: Annotated[int | None, Query(ge=1)] = None,
        min_height: Annotated[int | None, Query(ge=1)] = None,
        status: Annotated[Status | None, Query(description="Only assets with this status")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 20,
        min_score: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
    ) -> None:
        self.query = SearchQuery(
            text=q,
            like=like,
            media_type=type,
            tags=tag_filters(tag),
            since=date_bound(since, "since", end=False),
            until=date_bound(until, "until", end=True),
            min_width=min_width,
            min_height=min_height,
            status=status,
            limit=limit,
            min_score=min_score,
        )


def tag_filters(tags: list[str]) -> list[str]:
    """The `tag` parameters, at most MAX_TAG_FILTERS of them (else a 400)."""
    if len(tags) > MAX_TAG_FILTERS:
        raise BadInputError(
            f"{len(tags)} tag filters; at most {MAX_TAG_FILTERS} are allowed",
            hint="filter by fewer tags (assets must have all of them)",
        )
    return list(tags)
