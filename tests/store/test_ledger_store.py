"""SqlLogStore holds to the LogStore port on both backends: rows in the caller's transaction,
stored hashes found by node in one batch (missing ones left out for the log to name), levels
and leaves streamed in index order, checkpoints kept as given."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assetloom.core.merkle import EMPTY_ROOT, Node
from assetloom.errors import IntegrityError
from assetloom.provenance.base import LogStore
from assetloom.store.catalog import SqlCatalog
from assetloom.store.ledger import LeafRecord, SqlLogStore, StoredCheckpoint

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_rows_in_and_out(catalog: SqlCatalog) -> None:
    store = SqlLogStore()
    assert isinstance(store, LogStore)
    leaves = [(i, b"leaf%d" % i, bytes([i]) * 32, "register", f"a{i % 2}") for i in range(4)]
    nodes = [(Node(1, 0), b"\x10" * 32), (Node(1, 1), b"\x11" * 32), (Node(2, 0), b"\x20" * 32)]
    with catalog.write_session() as s, s.begin():
        assert store.head(s, lock=True) == (0, EMPTY_ROOT)
        store.add(s, leaves, nodes)
        store.set_head(s, 4, b"\x20" * 32)
    with pytest.raises(RuntimeError), catalog.write_session() as s, s.begin():
        store.add(s, [(4, b"lost", b"\x04" * 32, None, None)], [])
        raise RuntimeError("the caller's transaction fails: the store committed nothing")
    with catalog.read_session() as s:
        assert store.head(s) == (4, b"\x20" * 32)
        wanted = [Node(0, 3), Node(2, 0), Node(1, 1), Node(0, 4), Node(3, 0)]
        assert store.stored_hashes(s, wanted) == {
            Node(0, 3): bytes([3]) * 32,
            Node(2, 0): b"\x20" * 32,
            Node(1, 1): b"\x11" * 32,
        }
        assert store.leaf(s, 2) == LeafRecord(2, b"leaf2", bytes([2]) * 32)
        assert store.leaf(s, 4) is None
        assert store.latest_leaf(s, "a1", "register") == LeafRecord(3, b"leaf3", bytes([3]) * 32)
        assert store.latest_leaf(s, "a1", "tombstone") is None
        assert [r.index for r in store.leaves(s)] == [0, 1, 2, 3]
        assert [r.index for r in store.leaves(s, end=2)] == [0, 1]
        assert list(store.leaf_rows(s)) == leaves
        assert store.top_level(s) == 2
        assert list(store.level_hashes(s, 1)) == [(0, b"\x10" * 32), (1, b"\x11" * 32)]
        assert list(store.level_hashes(s, 2)) == [(0, b"\x20" * 32)]
        assert list(store.level_hashes(s, 3)) == []


def test_checkpoints_kept_as_given(catalog: SqlCatalog) -> None:
    store = SqlLogStore()
    kept = [StoredCheckpoint(n, bytes([n]) * 32, f"note {n}", T0) for n in (7, 3, 5)]
    with catalog.write_session() as s, s.begin():
        assert store.latest_checkpoint(s) is None and store.checkpoints(s) == []
        for cp in kept:
            store.add_checkpoint(s, cp)
    with catalog.read_session() as s:
        assert [c.tree_size for c in store.checkpoints(s)] == [3, 5, 7]
        latest = store.latest_checkpoint(s)
        assert latest is not None and (latest.tree_size, latest.note) == (7, "note 7")
        at = store.checkpoint_at(s, 5)
        assert at is not None and at.root_hash == bytes([5]) * 32
        assert store.checkpoint_at(s, 4) is None


def test_a_missing_head_says_so(catalog: SqlCatalog) -> None:
    with catalog.write_session() as s, s.begin():
        s.connection().exec_driver_sql("DELETE FROM ledger_head")
    with catalog.read_session() as s, pytest.raises(IntegrityError, match="head row is missing"):
        SqlLogStore().head(s)
