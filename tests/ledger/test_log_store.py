"""The log in a real SQLite catalog: appends, roots, proofs, transactions, read counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker

from assetloom.core import merkle
from assetloom.core.merkle import Node
from assetloom.errors import BadInputError
from assetloom.provenance.log_store import SqlLedger
from assetloom.store.db import make_engine, session_factory, sqlite_url
from assetloom.store.schema import AssetRow

LEDGER = SqlLedger()
T0 = datetime(2026, 1, 1, tzinfo=UTC)
Register = Callable[[int], bytes]


@contextmanager
def count_statements(sessions: sessionmaker[Session]) -> Iterator[list[str]]:
    engine = sessions.kw["bind"]
    seen: list[str] = []

    def listener(*args: object) -> None:
        if not str(args[2]).startswith("BEGIN"):
            seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_appends_roots_and_proofs(sessions: sessionmaker[Session], register: Register) -> None:
    datas = [register(i) for i in range(45)]
    tree = merkle.MemoryTree(merkle.leaf_hash(d) for d in datas)
    with sessions.begin() as s:
        assert LEDGER.size(s) == 0
        assert LEDGER.root(s) == merkle.EMPTY_ROOT
        assert LEDGER.append(s, datas[0]) == 0
        assert LEDGER.append_many(s, datas[1:5]) == [1, 2, 3, 4]
        assert LEDGER.append_many(s, []) == []
    for lo, hi in [(5, 6), (6, 30), (30, 45)]:
        with sessions.begin() as s:
            assert LEDGER.append_many(s, datas[lo:hi]) == list(range(lo, hi))
    with sessions() as s:
        assert LEDGER.size(s) == 45
        for size in range(0, 46):
            assert LEDGER.root(s, size) == tree.root(size)
        for size in (1, 7, 16, 45):
            root = tree.root(size)
            for index in range(size):
                proof = LEDGER.inclusion_proof(s, index, size)
                merkle.verify_inclusion(
                    tree.subtree_hashes([Node(0, index)])[0], index, size, proof, root
                )
            for old in range(1, size + 1):
                proof = LEDGER.consistency_proof(s, old, size)
                merkle.verify_consistency(old, size, tree.root(old), root, proof)
        leaf = LEDGER.leaf(s, 7)
        assert (leaf.index, leaf.data) == (7, datas[7])
        assert LEDGER.latest_leaf(s, "asset0007", "register") == leaf
        assert LEDGER.latest_leaf(s, "asset0007", "tombstone") is None
        assert [r.index for r in LEDGER.iter_leaves(s, end=3)] == [0, 1, 2]
        assert LEDGER.audit(s).ok
        with pytest.raises(BadInputError):
            LEDGER.leaf(s, 45)
        with pytest.raises(BadInputError):
            LEDGER.inclusion_proof(s, 0, 46)
        with pytest.raises(BadInputError):
            LEDGER.root(s, 46)


def test_leaf_shares_the_callers_transaction(
    sessions: sessionmaker[Session], register: Register
) -> None:
    with sessions.begin() as s:
        LEDGER.append(s, register(0))
    with pytest.raises(RuntimeError), sessions.begin() as s:
        s.add(
            AssetRow(
                asset_id="x",
                sha256="00" * 32,
                media_type="image",
                mime="image/png",
                size=1,
                original_name="x.png",
                registered_at=T0,
            )
        )
        LEDGER.append(s, register(1))
        raise RuntimeError("ingest failed after the leaf was written")
    with sessions() as s:
        assert LEDGER.size(s) == 1
        assert s.get(AssetRow, "x") is None
        assert s.execute(text("select count(*) from ledger_nodes")).scalar() == 0
        assert LEDGER.audit(s).ok


def test_survives_reopening(
    tmp_path: Path, sessions: sessionmaker[Session], register: Register
) -> None:
    with sessions.begin() as s:
        LEDGER.append_many(s, [register(i) for i in range(11)])
        root = LEDGER.root(s)
    engine = make_engine(sqlite_url(tmp_path / "catalog.db"))
    with session_factory(engine).begin() as s:
        assert LEDGER.root(s) == root
        assert LEDGER.append(s, register(11)) == 11
    engine.dispose()


def test_proofs_read_log_n_rows_in_few_queries(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        LEDGER.append_many(s, [bytes([i % 256, i // 256]) for i in range(3000)])
    with sessions() as s, count_statements(sessions) as seen:
        proof = LEDGER.inclusion_proof(s, 1234, 2999)
        assert len(seen) <= 3  # head + leaf hashes + subtree hashes
        seen.clear()
        LEDGER.consistency_proof(s, 1000, 2999)
        assert len(seen) <= 3
        seen.clear()
        LEDGER.root(s, 2777)
        assert len(seen) <= 3
        seen.clear()
        LEDGER.append(s, b"one more")
        assert len(seen) <= 6  # head, frontier, leaf insert, node insert, head update
    assert len(proof) == 12
