"""SqlCatalog keeps the CatalogStore contract on SQLite and on PostgreSQL (pgvector)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from assetloom.core.assets import Asset, Fingerprint, MediaType
from assetloom.core.listing import ListQuery
from assetloom.errors import AssetNotFoundError
from assetloom.store.base import CatalogStore, NewVector, SeenFile, UnitOfWork
from assetloom.store.catalog import SqlCatalog

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _id(i: int) -> str:
    return f"{i:06x}" + "c" * 26


def _asset(i: int, **kw: object) -> Asset:
    base = dict(
        asset_id=_id(i),
        sha256=f"{i:064x}",
        media_type=MediaType.IMAGE,
        mime="image/jpeg",
        size=1000 + i,
        original_name=f"photo-{i}.jpg",
        registered_at=T0 + timedelta(minutes=i),
        width=640,
        height=480,
        metadata={"title": f"title {i}"},
        fingerprints=[
            Fingerprint("pdq", bytes([i]) * 32, 90),
            Fingerprint("phash", bytes([i]) * 8),
        ],
        source=f"/photos/photo-{i}.jpg",
    )
    base.update(kw)
    return Asset(**base)  # type: ignore[arg-type]


def _add(catalog: SqlCatalog, *assets: Asset) -> list[tuple[int, str, bytes]]:
    rows = []
    with catalog.unit_of_work() as uow:
        for a in assets:
            rows.extend(uow.add_asset(a, has_thumbnail=True))
    return rows


def test_ports(catalog: SqlCatalog) -> None:
    assert isinstance(catalog, CatalogStore)
    with catalog.unit_of_work() as uow:
        assert isinstance(uow, UnitOfWork)


def test_assets_round_trip_and_resolve_prefixes(catalog: SqlCatalog) -> None:
    fps = _add(catalog, _asset(1), _asset(2), _asset(0x10))
    assert [kind for _, kind, _ in fps] == ["pdq", "phash"] * 3
    got = catalog.get(_id(1))
    assert got == _asset(1)  # every field, zone-aware time, fingerprints in order
    assert catalog.get(_id(1)[:10]).asset_id == _id(1)
    with pytest.raises(AssetNotFoundError, match="ambiguous"):
        catalog.get("00000")
    with pytest.raises(AssetNotFoundError, match="no asset"):
        catalog.get("ffffffff")
    many = catalog.get_many([_id(1), _id(2), "nope"])
    assert set(many) == {_id(1), _id(2)} and many[_id(1)].fingerprints == []
    assert catalog.asset_of_sha(f"{2:064x}") == _id(2)
    assert catalog.assets_with_fingerprint("phash", bytes([2]) * 8) == [_id(2)]
    owners = catalog.fingerprints_of_rows([fps[0][0]])
    assert list(owners) == [_id(1)] and len(owners[_id(1)]) == 2


def test_list_count_filters_and_cursor_pages(catalog: SqlCatalog) -> None:
    _add(catalog, *[_asset(i) for i in range(1, 8)])
    assert catalog.count() == 7
    q = ListQuery(limit=3)
    seen = []
    while True:
        page = catalog.list(q)
        seen += [a.asset_id for a in page.assets]
        if page.next_cursor is None:
            break
        q = ListQuery(limit=3, cursor=page.next_cursor)
    assert seen == [_id(i) for i in range(1, 8)]
    newest = catalog.list(ListQuery(limit=2, newest_first=True)).assets
    assert [a.asset_id for a in newest] == [_id(7), _id(6)]
    window = ListQuery(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4))
    assert catalog.count(window) == 3
    assert catalog.count(ListQuery(name="PHOTO-5")) == 1


def test_vectors_tags_and_keywords(catalog: SqlCatalog) -> None:
    _add(catalog, _asset(1), _asset(2))
    a1, a2 = _id(1), _id(2)
    v = np.arange(8, dtype=np.float32).tobytes()
    with catalog.unit_of_work() as uow:
        written = uow.add_vectors(
            [NewVector(a1, "visual", "m1", v), NewVector(a2, "text", "m1", v)]
        )
        uow.add_tags(a1, [("dog", 0.9, "zero-shot"), ("beach", 0.7, "user")])
        uow.upsert_keywords(a1, {"name": "harbour launch", "title": "蓝色调的科技感产品图"})
        uow.upsert_keywords(a2, {"name": "mountain", "content": "snow at dawn"})
    assert [space for _, space, _ in written] == ["visual", "text"]
    assert catalog.vectors_of(a1) == {"visual": v}
    assert catalog.vectors_in("visual", [a1, a2]) == {a1: v}
    assert catalog.assets_lacking_vectors({"m1"}) == []
    assert set(catalog.assets_lacking_vectors({"m2"})) == {(a1, f"{1:064x}"), (a2, f"{2:064x}")}
    assert catalog.tags_among([a1, a2], ["dog"]) == {a1: {"dog"}}
    assert catalog.tag_counts() == [("beach", 1), ("dog", 1)]
    assert [k for k, _, _ in catalog.tags_of(a1)] == ["dog", "beach"]
    assert [h.asset_id for h in catalog.keyword_search("科技感", 10)] == [a1]
    assert [h.asset_id for h in catalog.keyword_search("harbour", 10)] == [a1]
    assert [h.asset_id for h in catalog.keyword_search("snow", 10)] == [a2]
    assert catalog.keyword_search("a' OR 1=1 --", 10) == []
    with catalog.unit_of_work() as uow:
        assets = uow.replace_understanding([a1])
        assert set(assets) == {a1}
    assert catalog.vectors_of(a1) == {} and [k for k, _, _ in catalog.tags_of(a1)] == ["beach"]


def test_seen_files_pending_and_removal(catalog: SqlCatalog) -> None:
    _add(catalog, _asset(1), _asset(2))
    with catalog.unit_of_work() as uow:
        uow.remember_seen([SeenFile("/photos/photo-1.jpg", 1001, 5, f"{1:064x}")])
        uow.remember_seen([SeenFile("/photos/photo-1.jpg", 1001, 6, f"{1:064x}")])  # upsert
        uow.mark_pending(["f" * 64], owner_pid=4242, at=T0)
    assert catalog.unchanged_files({"/photos/photo-1.jpg": (1001, 6)}) == {
        "/photos/photo-1.jpg": _id(1)
    }
    assert catalog.unchanged_files({"/photos/photo-1.jpg": (1001, 5)}) == {}
    assert [(p.sha256, p.owner_pid) for p in catalog.pending()] == [("f" * 64, 4242)]
    with catalog.unit_of_work() as uow:
        uow.clear_pending(["f" * 64])
        _, removed = uow.remove_asset(_id(1)[:8])
    assert catalog.pending() == []
    assert removed.asset.asset_id == _id(1) and not removed.blob_still_used
    assert len(removed.fingerprint_rows) == 2
    assert catalog.count() == 1 and catalog.keyword_search("photo", 10) == []


def test_change_token(catalog: SqlCatalog) -> None:
    """Another connection's commit moves the token (how a server knows to catch up)."""
    token = catalog.change_token()
    assert token is not None
    assert catalog.change_token() == token  # reading changes nothing
    other = SqlCatalog(catalog.url)
    _add(other, _asset(9))
    other.close()
    assert catalog.change_token() != token
