"""SqlOrganiseStore (collections, share links, the trash) on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from assetloom.core.assets import Asset
from assetloom.core.listing import ListQuery
from assetloom.errors import (
    AssetNotFoundError,
    BadInputError,
    CollectionExistsError,
    CollectionNotFoundError,
    ShareNotFoundError,
)
from assetloom.store.base import OrganiseStore
from assetloom.store.catalog import SqlCatalog
from assetloom.store.organise import SqlOrganiseStore
from tests.store.test_catalog_contract import _add, _asset, _id


def _many(n: int) -> list[Asset]:
    """n assets without fingerprints (the contract's `_asset` makes one byte of each)."""
    base = _asset(1, fingerprints=[])
    return [
        replace(
            base,
            asset_id=_id(i),
            sha256=f"{i:064x}",
            registered_at=T0 + timedelta(minutes=i),
        )
        for i in range(1, n + 1)
    ]


T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _store(catalog: SqlCatalog) -> SqlOrganiseStore:
    return SqlOrganiseStore(catalog.read_session, catalog.write_session, "the test library")


def test_port(catalog: SqlCatalog) -> None:
    assert isinstance(_store(catalog), OrganiseStore)


def test_collections_nest_one_level_and_keep_their_order(catalog: SqlCatalog) -> None:
    _add(catalog, *[_asset(i) for i in range(1, 6)])
    store = _store(catalog)
    store.create_collection("Campaign", by="alice", at=T0)
    store.create_collection("Campaign/ 2027 spring", by="alice", at=T0, parent="Campaign")
    with pytest.raises(CollectionExistsError):
        store.create_collection("Campaign", by="bob", at=T0)
    with pytest.raises(BadInputError, match="one level"):
        store.create_collection("deeper", by="alice", at=T0, parent="Campaign/ 2027 spring")
    with pytest.raises(CollectionNotFoundError):
        store.create_collection("orphan", by="alice", at=T0, parent="nope")

    added = store.add_items("Campaign", [_id(3), _id(1)[:8], _id(2)], at=T0)
    assert added == (3, 0)
    assert store.add_items("Campaign", [_id(2), _id(4)], at=T0) == (1, 1)
    assert store.item_ids("Campaign") == [_id(3), _id(1), _id(2), _id(4)]
    store.reorder("Campaign", [_id(4), _id(1)], at=T0)
    assert store.item_ids("Campaign") == [_id(4), _id(1), _id(3), _id(2)]
    assert store.remove_items("Campaign", [_id(1), _id(5)], at=T0) == 1
    assert store.item_ids("Campaign", limit=2, offset=1) == [_id(3), _id(2)]

    with pytest.raises(AssetNotFoundError, match="no asset 'ffffffff'"):
        store.add_items("Campaign", [_id(5), "ffffffff"], at=T0)
    assert _id(5) not in store.item_ids("Campaign"), "all or nothing"

    listed = store.collections()
    assert [(c.name, c.parent, c.items) for c in listed] == [
        ("Campaign", None, 3),
        ("Campaign/ 2027 spring", "Campaign", 0),
    ]
    assert listed[0].children == ("Campaign/ 2027 spring",)

    renamed = store.update_collection("Campaign", at=T0, new_name="Launch", cover_asset_id=_id(3))
    assert renamed.name == "Launch" and renamed.cover_asset_id == _id(3)
    assert store.collection("Campaign/ 2027 spring").parent == "Launch"
    with pytest.raises(BadInputError, match="holds collections"):
        store.update_collection("Launch", at=T0, parent="Campaign/ 2027 spring")
    store.update_collection("Campaign/ 2027 spring", at=T0, parent=None)
    assert store.collection("Campaign/ 2027 spring").parent is None

    store.update_collection("Campaign/ 2027 spring", at=T0, parent="Launch")
    store.delete_collection("Launch")
    assert [c.name for c in store.collections()] == ["Campaign/ 2027 spring"]
    assert store.collection("Campaign/ 2027 spring").parent is None


def test_bulk_add_and_trash_of_thousands_in_one_call(catalog: SqlCatalog) -> None:
    _add(catalog, *_many(1200))
    store = _store(catalog)
    ids = [_id(i) for i in range(1, 1201)]
    store.create_collection("all", by="alice", at=T0)
    assert store.add_items("all", ids, at=T0) == (1200, 0)
    assert store.item_ids("all") == ids

    trashed = store.trash(ids[:700], at=T0)
    assert [a.asset_id for a in trashed] == ids[:700]
    assert catalog.count(ListQuery()) == 500
    assert store.collection("all").items == 500
    assert store.item_ids("all")[0] == ids[700]
    assert catalog.held_among(ids[695:705]) == set(ids[695:700])
    total, rows = store.trashed(limit=10)
    assert total == 700 and len(rows) == 10 and rows[0][1] == T0

    restored = store.restore(ids[:700])
    assert len(restored) == 700 and catalog.count(ListQuery()) == 1200
    assert store.item_ids("all") == ids, "restored items come back in their place"


def test_trash_is_all_or_nothing_and_restore_only_takes_trashed(catalog: SqlCatalog) -> None:
    _add(catalog, _asset(1), _asset(2))
    store = _store(catalog)
    with pytest.raises(AssetNotFoundError):
        store.trash([_id(1), "deadbeefdead"], at=T0)
    assert store.trashed_among([_id(1), _id(2)]) == set()
    store.trash([_id(1)], at=T0)
    with pytest.raises(AssetNotFoundError, match="no asset"):
        store.trash([_id(1)], at=T0)  # already in the trash: not found outside it
    with pytest.raises(AssetNotFoundError, match="the trash"):
        store.restore([_id(2)])
    assert store.trashed_at(_id(1)) == T0
    total, rows = store.trashed(before=T0 + timedelta(seconds=1))
    assert total == 1 and rows[0][0].asset_id == _id(1)
    assert store.trashed(before=T0)[0] == 0


def test_smart_collections_refuse_hand_picked_items(catalog: SqlCatalog) -> None:
    _add(catalog, _asset(1))
    store = _store(catalog)
    store.create_collection("dogs", by="alice", at=T0, query={"text": "dog", "tags": []})
    assert store.collection("dogs").query == {"text": "dog", "tags": []}
    with pytest.raises(BadInputError, match="smart"):
        store.add_items("dogs", [_id(1)], at=T0)


def test_shares_keep_only_hashes_and_cascade(catalog: SqlCatalog) -> None:
    _add(catalog, _asset(1), _asset(2))
    store = _store(catalog)
    store.create_collection("press", by="alice", at=T0)
    store.add_items("press", [_id(1)], at=T0)
    link = store.create_share(
        token_hash=b"h" * 32, prefix="als_abcdef", by="alice", at=T0, collection="press"
    )
    one = store.create_share(
        token_hash=b"i" * 32,
        prefix="als_ghijkl",
        by="alice",
        at=T0,
        asset_id=_id(2)[:6],
        allow_download=True,
        expires_at=T0 + timedelta(days=7),
    )
    assert one.asset_id == _id(2) and one.expires_at == T0 + timedelta(days=7)
    assert store.share_of_hash(b"h" * 32) == link
    assert store.share_of_hash(b"x" * 32) is None
    assert store.holds(link.collection_id or 0, _id(1))
    assert not store.holds(link.collection_id or 0, _id(2))

    store.count_use(link.id, T0 + timedelta(minutes=1))
    store.count_use(link.id, T0 + timedelta(minutes=2))
    used = store.share_of_hash(b"h" * 32)
    assert used is not None and used.uses == 2
    assert used.last_used_at == T0 + timedelta(minutes=2)

    revoked = store.revoke_share(at=T0, token_hash=b"i" * 32)
    assert revoked.revoked_at == T0
    with pytest.raises(ShareNotFoundError):
        store.revoke_share(at=T0, share_id=9999)
    assert [s.id for s in store.shares()] == [one.id, link.id]

    store.delete_collection("press")
    assert [s.id for s in store.shares()] == [one.id], "a deleted collection takes its links"
