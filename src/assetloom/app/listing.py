"""Listing the library: filters, order and keyset (cursor) pages for `list`, the API and the grid.

Offset pages rescan every skipped row (slow at a million assets) and shift when assets are added
or removed while someone pages through. A cursor names the last asset shown by its
(registered_at, asset_id), so the next page starts right after it through the
(registered_at, asset_id) index, whatever was added or removed meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select

from assetloom.app.results import asset_json
from assetloom.core.assets import Asset, MediaType
from assetloom.errors import BadInputError
from assetloom.store.schema import AssetRow
from assetloom.store.search_tables import TagRow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"([on])([0-9a-f]{1,16})\.([0-9a-f]{32})")
_CURSOR_HINT = "pass the next_cursor of an earlier page, with the same order"


@dataclass(slots=True)
class ListQuery:
    """What `Library.list` shows: every filter must hold; tags must all be present (keys)."""

    media_type: MediaType | None = None
    tags: list[str] = field(default_factory=list)
    since: datetime | None = None
    """Registered at or after (timezone-aware)."""
    until: datetime | None = None
    """Registered at or before (timezone-aware), as search's `until`."""
    name: str | None = None
    """Case-insensitive substring of the original file name."""
    newest_first: bool = False
    limit: int = 100
    offset: int = 0
    """Rows skipped (after the cursor, if any); kept for old callers, prefer the cursor."""
    cursor: str | None = None
    """`ListPage.next_cursor` of the previous page: this page starts right after it."""


@dataclass(slots=True)
class ListPage:
    assets: list[Asset]
    next_cursor: str | None
    """Pass as `ListQuery.cursor` for the next page; None on the last page."""


def encode_cursor(asset: Asset, newest_first: bool) -> str:
    micros = (asset.registered_at - _EPOCH) // timedelta(microseconds=1)
    raw = f"{'n' if newest_first else 'o'}{micros:x}.{asset.asset_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, newest_first: bool) -> tuple[datetime, str]:
    """(registered_at, asset_id) of the last asset on the previous page."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        m = _CURSOR.fullmatch(raw)
        registered = _EPOCH + timedelta(microseconds=int(m.group(2), 16)) if m else None
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        m = registered = None
    if m is None or registered is None:
        raise BadInputError(f"cursor {cursor[:80]!r} is not one of ours", hint=_CURSOR_HINT)
    if (m.group(1) == "n") != newest_first:
        order = "oldest" if newest_first else "newest"
        raise BadInputError(f"that cursor pages {order} first", hint=_CURSOR_HINT)
    return registered, m.group(3)


def _utc(value: datetime) -> datetime:
    # SQLite keeps registered_at as UTC wall time; bind values the same way.
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def filtered(stmt: Select[Any], q: ListQuery) -> Select[Any]:
    """`stmt` (over AssetRow) narrowed by q's filters; no cursor, order or paging."""
    if q.media_type:
        stmt = stmt.where(AssetRow.media_type == q.media_type.value)
    if q.since:
        stmt = stmt.where(AssetRow.registered_at >= _utc(q.since))
    if q.until:
        stmt = stmt.where(AssetRow.registered_at <= _utc(q.until))
    if q.name:
        stmt = stmt.where(AssetRow.original_name.icontains(q.name, autoescape=True))
    for tag in dict.fromkeys(q.tags):
        stmt = stmt.where(AssetRow.asset_id.in_(select(TagRow.asset_id).where(TagRow.tag == tag)))
    return stmt


def paged(stmt: Select[Any], q: ListQuery) -> Select[Any]:
    """`filtered(stmt)` in q's order, after q's cursor, one row past the page (to see if more)."""
    if q.limit < 1 or q.offset < 0:
        raise BadInputError("limit must be at least 1 and offset not negative")
    stmt = filtered(stmt, q)
    at, aid = AssetRow.registered_at, AssetRow.asset_id
    if q.cursor:
        when, last_id = decode_cursor(q.cursor, q.newest_first)
        when = _utc(when)
        # The first condition alone bounds the index range; the second breaks ties.
        if q.newest_first:
            stmt = stmt.where(and_(at <= when, or_(at < when, aid < last_id)))
        else:
            stmt = stmt.where(and_(at >= when, or_(at > when, aid > last_id)))
    order = (at.desc(), aid.desc()) if q.newest_first else (at, aid)
    return stmt.order_by(*order).limit(q.limit + 1).offset(q.offset)


def page_of(assets: list[Asset], q: ListQuery) -> ListPage:
    """The page from `paged`'s rows (which hold one extra when there is more)."""
    if len(assets) <= q.limit:
        return ListPage(assets, None)
    shown = assets[: q.limit]
    return ListPage(shown, encode_cursor(shown[-1], q.newest_first))


def list_json(page: ListPage, total: int, q: ListQuery) -> dict[str, Any]:
    """`list --json` and `GET /api/v1/assets`."""
    return {
        "total": total,
        "offset": q.offset,
        "next_cursor": page.next_cursor,
        "assets": [asset_json(a, full=False) for a in page.assets],
    }
