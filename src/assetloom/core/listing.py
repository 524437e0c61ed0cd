"""Listing rules shared by every interface: the query, keyset cursors and date bounds.

Offset pages rescan every skipped row (slow at a million assets) and shift when assets are added
or removed while someone pages through. A cursor names the last asset shown by its
(registered_at, asset_id), so the next page starts right after it through the
(registered_at, asset_id) index, whatever was added or removed meanwhile.

Other sorts (capture date, name, size, rating) page the same way: their cursor names the
last asset's (sort value, asset_id), rows without a value (never captured, unrated) come
last in either direction, and the asset id breaks ties, so no row is shown twice or skipped.

`date_bound` is the one reading of `--since`/`--until` (CLI), `since`/`until` (API) and the web
grid's day fields: a bare day D means from the start of D, or until the end of D.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, get_args

from assetloom.core.assets import Asset, MediaType
from assetloom.errors import BadInputError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"([on])([0-9a-f]{1,16})\.([0-9a-f]{32})")
_CURSOR_HINT = "pass the next_cursor of an earlier page, with the same order"
_SORT_HINT = "pass the next_cursor of an earlier page, with the same sort and order"

SortKey = Literal["registered", "captured", "name", "size", "rating"]
SORT_KEYS: tuple[str, ...] = get_args(SortKey)
"""What lists sort by: registration time (the default), capture date, file name, size,
star rating."""
Status = Literal["draft", "in_review", "approved", "archived"]
STATUSES: tuple[str, ...] = get_args(Status)
"""The workflow statuses a person sets on an asset (assets.status)."""
_SORT_CODES = {"captured": "c", "name": "a", "size": "s", "rating": "r"}
_NO_VALUE = "-"


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
    """Descending: newest first, or Z to A, biggest, best rated under another sort."""
    sort: SortKey = "registered"
    status: str | None = None
    """Only assets with this workflow status (one of STATUSES)."""
    captured_since: datetime | None = None
    """Captured at or after (the timeline's month: `month_bounds`)."""
    captured_until: datetime | None = None
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


SortValue = datetime | str | int | None


def sort_key(value: str | None) -> SortKey:
    """A sort key as typed (`--sort`, `sort=`); empty means the default."""
    if not value:
        return "registered"
    if value not in SORT_KEYS:
        raise BadInputError(f"no sort {value!r}", hint=f"sort by one of {', '.join(SORT_KEYS)}")
    return value  # type: ignore[return-value]


def status_filter(value: str | None) -> str | None:
    """A status filter as typed; empty means any status."""
    if not value:
        return None
    if value not in STATUSES:
        raise BadInputError(
            f"no status {value!r}", hint=f"a status is one of {', '.join(STATUSES)}"
        )
    return value


def encode_sort_cursor(q: ListQuery, value: SortValue, asset_id: str) -> str:
    """The cursor after an asset under a sort other than registration time."""
    if value is None:
        shown = _NO_VALUE
    elif isinstance(value, datetime):
        shown = "=" + str((_utc(value) - _EPOCH) // timedelta(microseconds=1))
    else:
        shown = f"={value}"
    raw = f"~{_SORT_CODES[q.sort]}{'n' if q.newest_first else 'o'}.{asset_id}.{shown}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_sort_cursor(q: ListQuery) -> tuple[SortValue, str]:
    """(sort value, asset_id) of the last asset on the previous page under q's sort."""
    cursor = q.cursor or ""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    head, _, rest = raw.partition(".")
    asset_id, _, shown = rest.partition(".")
    if not (
        len(head) == 3
        and head[0] == "~"
        and re.fullmatch(r"[0-9a-f]{32}", asset_id)
        and (shown == _NO_VALUE or shown.startswith("="))
    ):
        raise BadInputError(f"cursor {cursor[:80]!r} is not one of ours", hint=_SORT_HINT)
    if head[1] != _SORT_CODES[q.sort] or (head[2] == "n") != q.newest_first:
        raise BadInputError("that cursor is for another sort or order", hint=_SORT_HINT)
    if shown == _NO_VALUE:
        return None, asset_id
    text = shown[1:]
    try:
        if q.sort == "captured":
            return _EPOCH + timedelta(microseconds=int(text)), asset_id
        if q.sort in ("size", "rating"):
            return int(text), asset_id
    except (ValueError, OverflowError) as exc:
        raise BadInputError(f"cursor {cursor[:80]!r} is not one of ours", hint=_SORT_HINT) from exc
    return text, asset_id


def page_of(assets: list[Asset], q: ListQuery, values: list[SortValue] | None = None) -> ListPage:
    """The page from `paged`'s rows (which hold one extra when there is more); `values` are
    the rows' sort values under a sort other than registration time."""
    if len(assets) <= q.limit:
        return ListPage(assets, None)
    shown = assets[: q.limit]
    if q.sort == "registered":
        return ListPage(shown, encode_cursor(shown[-1], q.newest_first))
    if values is None:
        raise ValueError("a sort other than registered needs the rows' sort values")
    return ListPage(shown, encode_sort_cursor(q, values[q.limit - 1], shown[-1].asset_id))


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def month_bounds(value: str | None) -> tuple[datetime | None, datetime | None]:
    """A capture month YYYY-MM as (its first microsecond, its last) in UTC; empty: none."""
    if not value:
        return None, None
    m = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    if m is None or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
        raise BadInputError(f"month {value[:20]!r} is not a month", hint="use YYYY-MM")
    year, month = int(m.group(1)), int(m.group(2))
    if year >= 9999:
        raise BadInputError(f"month {value[:20]!r} is out of range", hint="use YYYY-MM")
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end - timedelta(microseconds=1)


def date_bound(value: str | None, name: str, *, end: bool) -> datetime | None:
    """`value` as a timezone-aware bound: a day (YYYY-MM-DD) starts at 00:00 UTC or, with
    `end`, ends at its last microsecond; a date and time is taken as given (UTC if it names
    no zone). Empty means no bound."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1, microseconds=-1) if end else start
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadInputError(
            f"{name} {value[:40]!r} is not a date",
            hint="use YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS with an optional zone",
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def captured_at_of(metadata: dict[str, Any] | None) -> datetime | None:
    """When the asset was captured, from the `captured_at` its extractor recorded (an ISO
    timestamp, with an offset when EXIF had one; a naive one is read as UTC), or None."""
    value = (metadata or {}).get("captured_at")
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
