"""`SqlLogStore`: the transparency log's rows in the catalog (`store/ledger_tables.py`).

The SQL half of the ledger; the log's rules (appends, roots, proofs, audit, checkpoint
refusals) are `provenance.log_store.SqlLedger`'s, over the `provenance.base.LogStore` port
this class fills for SQLite and PostgreSQL. Every method works in the caller's `Session` and
never commits, so a leaf lands in the transaction of the asset row it registers.

How the rows are laid out is this module's business alone: subtree hashes are keyed by one
integer (level << 48 | index), so a batch of nodes is one indexed `IN` and a level one range.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from assetloom.core.merkle import Node
from assetloom.errors import IntegrityError
from assetloom.store.ledger_tables import (
    NODE_LEVEL_SHIFT,
    LedgerCheckpointRow,
    LedgerHeadRow,
    LedgerLeafRow,
    LedgerNodeRow,
)

LeafRow = tuple[int, bytes, bytes, str | None, str | None]
"""(index, data, leaf hash, kind, asset id): a leaf as appended, with its index columns."""

_LEAVES = LedgerLeafRow.__table__
_NODES = LedgerNodeRow.__table__
_HEAD_ID = 1
_BATCH = 20_000
_MASK = (1 << NODE_LEVEL_SHIFT) - 1

_LEAF_HASHES = select(LedgerLeafRow.idx, LedgerLeafRow.leaf_hash).where(
    LedgerLeafRow.idx.in_(bindparam("ids", expanding=True))
)
_NODE_HASHES = select(LedgerNodeRow.node_id, LedgerNodeRow.hash).where(
    LedgerNodeRow.node_id.in_(bindparam("ids", expanding=True))
)
_LEAF = select(LedgerLeafRow.idx, LedgerLeafRow.data, LedgerLeafRow.leaf_hash)


@dataclass(frozen=True, slots=True)
class LeafRecord:
    """One stored leaf: its index, exact bytes and stored hash."""

    index: int
    data: bytes
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    note: str
    signed_at: datetime


def _node_id(level: int, index: int) -> int:
    return (level << NODE_LEVEL_SHIFT) | index


class SqlLogStore:
    """The `LogStore` port over the ledger tables (see module docstring)."""

    # --- head ----------------------------------------------------------------------------

    def head(self, session: Session, *, lock: bool = False) -> tuple[int, bytes]:
        """(tree size, root) after the last append; `lock` holds the head row until commit
        (FOR UPDATE where the database has it; SQLite serialises writers itself), so
        concurrent appends get consecutive indexes."""
        q = select(LedgerHeadRow.tree_size, LedgerHeadRow.root_hash).where(
            LedgerHeadRow.id == _HEAD_ID
        )
        row = session.execute(q.with_for_update() if lock else q).one_or_none()
        if row is None:
            raise IntegrityError(
                "the ledger head row is missing", hint="was the catalog migrated (revision 0002)?"
            )
        return row[0], row[1]

    def set_head(self, session: Session, size: int, root: bytes) -> None:
        session.execute(
            update(LedgerHeadRow)
            .where(LedgerHeadRow.id == _HEAD_ID)
            .values(tree_size=size, root_hash=root)
        )

    # --- leaves and subtree hashes -------------------------------------------------------

    def add(self, session: Session, leaves: list[LeafRow], nodes: list[tuple[Node, bytes]]) -> None:
        """Insert leaves and the complete-subtree hashes (level >= 1) they close."""
        _insert_many(session, _LEAVES, leaves)
        _insert_many(session, _NODES, [(_node_id(*node), h) for node, h in nodes])

    def stored_hashes(self, session: Session, nodes: Sequence[Node]) -> dict[Node, bytes]:
        """The stored hashes of these subtrees (level 0: leaf hashes), in at most two
        queries; a subtree with no stored hash is left out."""
        found: dict[Node, bytes] = {}
        leaves = [n.index for n in nodes if n.level == 0]
        inner = [_node_id(*n) for n in nodes if n.level > 0]
        if leaves:
            for idx, h in session.execute(_LEAF_HASHES, {"ids": leaves}):
                found[Node(0, idx)] = h
        if inner:
            for node_id, h in session.execute(_NODE_HASHES, {"ids": inner}):
                found[Node(node_id >> NODE_LEVEL_SHIFT, node_id & _MASK)] = h
        return found

    def leaf(self, session: Session, index: int) -> LeafRecord | None:
        row = session.execute(_LEAF.where(LedgerLeafRow.idx == index)).one_or_none()
        return LeafRecord(*row) if row is not None else None

    def latest_leaf(self, session: Session, asset_id: str, kind: str) -> LeafRecord | None:
        """The newest leaf indexed under (kind, asset id)."""
        row = session.execute(
            _LEAF.where(LedgerLeafRow.asset_id == asset_id, LedgerLeafRow.kind == kind)
            .order_by(LedgerLeafRow.idx.desc())
            .limit(1)
        ).one_or_none()
        return LeafRecord(*row) if row else None

    def leaves(self, session: Session, end: int | None = None) -> Iterator[LeafRecord]:
        """Leaves in index order (below `end` if given), streamed a batch at a time."""
        q = _LEAF if end is None else _LEAF.where(LedgerLeafRow.idx < end)
        rows = session.connection().execute(
            q.order_by(LedgerLeafRow.idx).execution_options(yield_per=_BATCH)
        )
        for row in rows:
            yield LeafRecord(*row)

    def leaf_rows(self, session: Session) -> Iterator[LeafRow]:
        """Every leaf with its index columns as stored, in index order, streamed."""
        q = select(
            LedgerLeafRow.idx,
            LedgerLeafRow.data,
            LedgerLeafRow.leaf_hash,
            LedgerLeafRow.kind,
            LedgerLeafRow.asset_id,
        ).order_by(LedgerLeafRow.idx)
        yield from session.connection().execute(q.execution_options(yield_per=_BATCH)).tuples()

    def top_level(self, session: Session) -> int:
        """The highest level holding a stored subtree hash (0 when none does)."""
        return (session.scalar(select(func.max(LedgerNodeRow.node_id))) or 0) >> NODE_LEVEL_SHIFT

    def level_hashes(self, session: Session, level: int) -> Iterator[tuple[int, bytes]]:
        """(index, hash) of the stored subtree hashes of one level >= 1, in index order."""
        yield from (
            session.connection()
            .execute(
                select(LedgerNodeRow.node_id - _node_id(level, 0), LedgerNodeRow.hash)
                .where(
                    LedgerNodeRow.node_id.between(_node_id(level, 0), _node_id(level + 1, 0) - 1)
                )
                .order_by(LedgerNodeRow.node_id)
                .execution_options(yield_per=_BATCH)
            )
            .tuples()
        )

    # --- checkpoints ---------------------------------------------------------------------

    def add_checkpoint(self, session: Session, checkpoint: StoredCheckpoint) -> None:
        session.add(
            LedgerCheckpointRow(
                tree_size=checkpoint.tree_size,
                root_hash=checkpoint.root_hash,
                note=checkpoint.note,
                signed_at=checkpoint.signed_at,
            )
        )
        session.flush()

    def checkpoints(self, session: Session) -> list[StoredCheckpoint]:
        """Every kept checkpoint, smallest tree first."""
        rows = session.scalars(select(LedgerCheckpointRow).order_by(LedgerCheckpointRow.tree_size))
        return [_stored(r) for r in rows]

    def checkpoint_at(self, session: Session, size: int) -> StoredCheckpoint | None:
        row = session.get(LedgerCheckpointRow, size)
        return _stored(row) if row else None

    def latest_checkpoint(self, session: Session) -> StoredCheckpoint | None:
        row = session.scalars(
            select(LedgerCheckpointRow).order_by(LedgerCheckpointRow.tree_size.desc()).limit(1)
        ).first()
        return _stored(row) if row else None


def _insert_many(session: Session, table: Table, rows: Sequence[tuple[object, ...]]) -> None:
    """executemany straight to the driver: bytes, ints and strings need no type processing,
    and skipping SQLAlchemy's per-value bind processors doubles append throughput."""
    if not rows:
        return
    conn = session.connection()
    compiled = insert(table).compile(dialect=conn.dialect)
    names = [c.name for c in table.columns]
    params = rows if compiled.positional else [dict(zip(names, r, strict=True)) for r in rows]
    conn.exec_driver_sql(compiled.string, params)  # type: ignore[arg-type]


def _stored(row: LedgerCheckpointRow) -> StoredCheckpoint:
    return StoredCheckpoint(row.tree_size, row.root_hash, row.note, row.signed_at)
