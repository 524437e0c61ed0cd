"""Library answers as JSON documents, shared by the API routes and the web pages.

Each function is a call into `Library` plus its `--json` rendering, so a web page, an API
response and the CLI show the same thing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query

from assetloom.app.library import Library
from assetloom.app.listing import list_json
from assetloom.app.results import asset_json
from assetloom.app.search import SearchHit, SearchQuery
from assetloom.core.assets import Asset, MediaType
from assetloom.core.listing import ListQuery, date_bound
from assetloom.errors import BadInputError

API = "/api/v1"
MAX_TAG_FILTERS = 50
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


def asset_doc(lib: Library, asset: Asset) -> dict[str, Any]:
    """`show --json` with download URLs instead of server file paths."""
    doc = asset_json(asset)
    doc["original_url"] = f"{API}/assets/{asset.asset_id}/original"
    has_thumb = lib.thumbnail_key(asset) is not None
    doc["thumbnail_url"] = f"{API}/assets/{asset.asset_id}/thumbnail" if has_thumb else None
    return doc


def asset_list(lib: Library, query: ListQuery) -> dict[str, Any]:
    """`list --json`."""
    return list_json(lib.list(query), lib.count(query), query)


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
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Annotated[
            int, Query(ge=0, le=2**62, description="Skip this many (after the cursor, if any)")
        ] = 0,
        cursor: Annotated[
            str | None,
            Query(max_length=200, description="`next_cursor` of the previous page, same order"),
        ] = None,
    ) -> None:
        self.query = ListQuery(
            media_type=type,
            tags=tag_filters(tag),
            since=date_bound(since, "since", end=False),
            until=date_bound(until, "until", end=True),
            name=name or None,
            newest_first=order == "newest",
            limit=limit,
            offset=offset,
            cursor=cursor or None,
        )


def search_doc(hits: list[SearchHit]) -> dict[str, Any]:
    """`search --json` / `similar --json`."""
    return {"results": [h.to_json() for h in hits]}


def with_client_names(doc: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """Report uploaded files under the names the client sent, never the server's paths."""

    def rename(entry: dict[str, Any]) -> dict[str, Any]:
        file = entry.get("file", "")
        return {**entry, "file": names.get(file, file.rsplit("/", 1)[-1])}

    return {
        key: [rename(e) for e in value] if isinstance(value, list) else value
        for key, value in doc.items()
    }


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
