"""SqlDuplicateStore (what `duplicates` compared and found, and the "not a duplicate"
decisions) on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from assetloom.store.catalog import SqlCatalog
from assetloom.store.duplicates import LinkRecord, SqlDuplicateStore
from tests.store.test_catalog_contract import _add, _asset, _id

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _store(catalog: SqlCatalog) -> SqlDuplicateStore:
    return SqlDuplicateStore(catalog.read_session, catalog.write_session)


def test_scans_and_links_are_kept_and_merged(catalog: SqlCatalog) -> None:
    _add(catalog, *[_asset(i) for i in range(1, 5)])
    store = _store(catalog)
    assert store.scanned("r1") == set()
    store.record_scan(
        [_id(1), _id(2)],
        [
            LinkRecord(_id(2), _id(1), "similar", 0.2),
            LinkRecord(_id(1), _id(2), "near-identical", 40.0, 55),
            LinkRecord(_id(3), _id(1), "near-identical", 12.0),
        ],
        "r1",
        T0,
    )
    assert store.scanned("r1") == {_id(1), _id(2)}
    links = {(x.asset_a, x.asset_b): x for x in store.links()}
    # Stored once per pair, ordered, the strongest link kept (near-identical over similar).
    assert links == {
        (_id(1), _id(2)): LinkRecord(_id(1), _id(2), "near-identical", 40.0, 55),
        (_id(1), _id(3)): LinkRecord(_id(1), _id(3), "near-identical", 12.0, None),
    }
    # A later scan (or a second process) of the same assets adds nothing twice and keeps the
    # closer distance.
    store.record_scan(
        [_id(2), _id(3)], [LinkRecord(_id(1), _id(3), "near-identical", 8.0)], "r1", T0
    )
    assert store.scanned("r1") == {_id(1), _id(2), _id(3)}
    assert {(x.asset_a, x.asset_b, x.distance) for x in store.links()} == {
        (_id(1), _id(2), 40.0),
        (_id(1), _id(3), 8.0),
    }
    # Other rules: everything is compared again, from nothing.
    assert store.scanned("r2") == set()
    assert store.links() == []


def test_decisions_are_per_pair_and_undone(catalog: SqlCatalog) -> None:
    _add(catalog, *[_asset(i) for i in range(1, 5)])
    store = _store(catalog)
    assert store.dismiss([(_id(2), _id(1)), (_id(1), _id(3))], by="alice", at=T0) == 2
    assert store.dismiss([(_id(1), _id(2))], by="bob", at=T0) == 0  # already decided
    assert store.dismissed() == {(_id(1), _id(2)), (_id(1), _id(3))}
    assert store.restore([(_id(3), _id(1)), (_id(2), _id(4))]) == 1
    assert store.dismissed() == {(_id(1), _id(2))}


def test_links_and_decisions_go_with_their_asset(catalog: SqlCatalog) -> None:
    _add(catalog, *[_asset(i) for i in range(1, 4)])
    store = _store(catalog)
    store.record_scan([_id(1)], [LinkRecord(_id(1), _id(2), "exact", 0.0)], "r1", T0)
    store.dismiss([(_id(2), _id(3))], by="alice", at=T0)
    with catalog.unit_of_work() as uow:
        uow.remove_asset(_id(2))
    assert store.links() == []
    assert store.dismissed() == set()
    assert store.scanned("r1") == {_id(1)}
    # A scan that names an asset removed meanwhile keeps what still exists.
    store.record_scan([_id(2), _id(3)], [LinkRecord(_id(2), _id(3), "exact", 0.0)], "r1", T0)
    assert store.scanned("r1") == {_id(1), _id(3)}
    assert store.links() == []
