"""Every sort pages by keyset cursors on both backends: the pages put together are the whole
sorted list, each asset once, rows without a value last either way, ties by asset id."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from assetloom.core.assets import Asset, MediaType
from assetloom.core.listing import SORT_KEYS, ListQuery
from assetloom.errors import BadInputError
from assetloom.store.catalog import SqlCatalog
from assetloom.store.schema import AssetRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
N = 23


def _id(i: int) -> str:
    return f"{i:06x}" + "d" * 26


def _asset(i: int) -> Asset:
    meta: dict[str, object] = {}
    if i % 4:  # every fourth never captured; two share each capture time
        meta["captured_at"] = (T0 - timedelta(days=(i * 7) % 10)).isoformat()
    return Asset(
        asset_id=_id(i),
        sha256=f"{i:064x}",
        media_type=MediaType.IMAGE if i % 3 else MediaType.TEXT,
        mime="image/jpeg",
        size=1000 + (i * 37) % 11,  # ties
        original_name=f"p{(i * 13) % 17:02d}.jpg",  # ties too
        registered_at=T0 + timedelta(minutes=i),
        metadata=meta,
    )


def _catalog_with_assets(catalog: SqlCatalog) -> None:
    with catalog.unit_of_work() as uow:
        for i in range(N):
            uow.add_asset(_asset(i), has_thumbnail=False)
        for i in range(N):
            if i % 5:  # every fifth unrated
                uow.session.execute(
                    update(AssetRow)
                    .where(AssetRow.asset_id == _id(i))
                    .values(rating=i % 6, status=("draft", "approved")[i % 2])
                )


def _expected(sort: str, desc: bool) -> list[str]:
    """The order by the rule, worked out here in Python."""
    rows = {a.asset_id: a for a in (_asset(i) for i in range(N))}

    def value(asset_id: str) -> object:
        a, i = rows[asset_id], int(asset_id[:6], 16)
        return {
            "registered": a.registered_at,
            "captured": datetime.fromisoformat(a.metadata["captured_at"])
            if "captured_at" in a.metadata
            else None,
            "name": a.original_name,
            "size": a.size,
            "rating": i % 6 if i % 5 else None,
        }[sort]

    have = [i for i in rows if value(i) is not None]
    lacking = [i for i in rows if value(i) is None]
    have.sort(key=lambda i: (value(i), i), reverse=desc)
    lacking.sort(reverse=desc)
    return have + lacking


@pytest.mark.parametrize("desc", [False, True])
def test_every_sort_pages_through_everything_once(catalog: SqlCatalog, desc: bool) -> None:
    _catalog_with_assets(catalog)
    for sort in SORT_KEYS:
        seen: list[str] = []
        cursor = None
        for _ in range(N):
            page = catalog.list(
                ListQuery(sort=sort, newest_first=desc, limit=4, cursor=cursor)  # type: ignore[arg-type]
            )
            seen.extend(a.asset_id for a in page.assets)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == _expected(sort, desc), (sort, desc)


def test_the_default_sort_keeps_its_cursor(catalog: SqlCatalog) -> None:
    _catalog_with_assets(catalog)
    first = catalog.list(ListQuery(limit=5))
    assert first.next_cursor == catalog.list(ListQuery(sort="registered", limit=5)).next_cursor
    again = catalog.list(ListQuery(limit=5, cursor=first.next_cursor))
    assert [a.asset_id for a in again.assets] == [_id(i) for i in range(5, 10)]


def test_a_cursor_only_pages_its_own_sort_and_order(catalog: SqlCatalog) -> None:
    _catalog_with_assets(catalog)
    by_name = catalog.list(ListQuery(sort="name", limit=3)).next_cursor
    registered = catalog.list(ListQuery(limit=3)).next_cursor
    with pytest.raises(BadInputError, match="another sort or order"):
        catalog.list(ListQuery(sort="size", cursor=by_name))
    with pytest.raises(BadInputError, match="another sort or order"):
        catalog.list(ListQuery(sort="name", newest_first=True, cursor=by_name))
    with pytest.raises(BadInputError, match="not one of ours"):
        catalog.list(ListQuery(sort="name", cursor=registered))
    with pytest.raises(BadInputError, match="not one of ours"):
        catalog.list(ListQuery(cursor=by_name))
    with pytest.raises(BadInputError, match="not one of ours"):
        catalog.list(ListQuery(sort="rating", cursor="garbage!"))


def test_status_filter_with_a_sort(catalog: SqlCatalog) -> None:
    _catalog_with_assets(catalog)
    q = ListQuery(status="approved", sort="rating", newest_first=True, limit=100)
    wanted = [i for i in _expected("rating", True) if int(i[:6], 16) % 5 and int(i[:6], 16) % 2]
    assert [a.asset_id for a in catalog.list(q).assets] == wanted
    assert catalog.count(q) == len(wanted)
    assert catalog.with_status([_id(1), _id(2), _id(3)], "approved") == {_id(1), _id(3)}


def test_capture_months_and_gps_points(catalog: SqlCatalog) -> None:
    shots = [
        ("2023-05-14T10:00:00+08:00", {"latitude": 31.25, "longitude": 121.5}),
        ("2023-05-31T23:30:00+00:00", None),
        ("2023-06-01T01:00:00+00:00", {"latitude": -12.0, "longitude": -77.0}),
        (None, {"latitude": 59.9, "longitude": 10.75}),
    ]
    with catalog.unit_of_work() as uow:
        for i, (when, gps) in enumerate(shots):
            meta: dict[str, object] = {"captured_at": when} if when else {}
            if gps:
                meta["gps"] = {**gps, "altitude": 3.0}
            a = replace(_asset(100 + i), metadata=meta, media_type=MediaType.IMAGE)
            uow.add_asset(a, has_thumbnail=False)
    assert catalog.capture_months() == [("2023-06", 1), ("2023-05", 2)]
    assert catalog.capture_months(ListQuery(media_type=MediaType.TEXT)) == []
    points = catalog.gps_points()
    assert [(p[0], p[2], p[3]) for p in points] == [
        (_id(100), 31.25, 121.5),
        (_id(102), -12.0, -77.0),
        (_id(103), 59.9, 10.75),
    ]
    assert len(catalog.gps_points(limit=2)) == 2
    june = ListQuery(
        captured_since=datetime(2023, 6, 1, tzinfo=UTC),
        captured_until=datetime(2023, 6, 30, 23, 59, tzinfo=UTC),
    )
    assert [a.asset_id for a in catalog.list(june).assets] == [_id(102)]
