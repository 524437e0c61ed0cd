"""The transparency log stored in the catalog database.

Every method takes the caller's SQLAlchemy `Session` and never commits, so the library appends
a leaf in the same transaction as the asset row it registers: both land or neither does.
Appends lock the single `ledger_head` row (FOR UPDATE where the database has it; SQLite
serialises writers itself), so concurrent writers get consecutive indexes.

Complete-subtree hashes are written as leaves close them, so roots and proofs at any size
read O(log n) rows in at most two queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from assetloom.core import merkle
from assetloom.core.checkpoint import Checkpoint, SignedNote
from assetloom.core.merkle import CompactRange, Node
from assetloom.errors import BadInputError, IntegrityError
from assetloom.provenance.leaves import leaf_key
from assetloom.store.ledger_tables import (
    NODE_LEVEL_SHIFT,
    LedgerCheckpointRow,
    LedgerHeadRow,
    LedgerLeafRow,
    LedgerNodeRow,
)

_LEAVES = LedgerLeafRow.__table__
_NODES = LedgerNodeRow.__table__
_HEAD_ID = 1
_BATCH = 20_000
_MAX_PROBLEMS = 50

_LEAF_HASHES = select(LedgerLeafRow.idx, LedgerLeafRow.leaf_hash).where(
    LedgerLeafRow.idx.in_(bindparam("ids", expanding=True))
)
_NODE_HASHES = select(LedgerNodeRow.node_id, LedgerNodeRow.hash).where(
    LedgerNodeRow.node_id.in_(bindparam("ids", expanding=True))
)


def _node_id(level: int, index: int) -> int:
    return (level << NODE_LEVEL_SHIFT) | index


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


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """Something that does not check out; `index` is the first leaf it puts in doubt."""

    index: int | None
    message: str


@dataclass(slots=True)
class AuditReport:
    tree_size: int
    leaves_checked: int = 0
    checkpoints_checked: int = 0
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_index(self) -> int | None:
        indexes = [p.index for p in self.problems if p.index is not None]
        return min(indexes) if indexes else None

    def add(self, index: int | None, message: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(AuditProblem(index, message))


class _SessionNodes:
    """NodeSource over the catalog: level 0 from ledger_leaves, the rest from ledger_nodes."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def subtree_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        found: dict[Node, bytes] = {}
        leaves = [n.index for n in nodes if n.level == 0]
        inner = [_node_id(*n) for n in nodes if n.level > 0]
        if leaves:
            for idx, h in self._session.execute(_LEAF_HASHES, {"ids": leaves}):
                found[Node(0, idx)] = h
        if inner:
            mask = (1 << NODE_LEVEL_SHIFT) - 1
            for node_id, h in self._session.execute(_NODE_HASHES, {"ids": inner}):
                found[Node(node_id >> NODE_LEVEL_SHIFT, node_id & mask)] = h
        missing = [n for n in nodes if n not in found]
        if missing:
            n = missing[0]
            lo = n.index << n.level
            raise IntegrityError(
                f"ledger hash for leaves [{lo}, {lo + (1 << n.level)}) is missing "
                f"(level {n.level}, index {n.index}): the log was truncated or tampered with",
                hint="run `assetloom ledger audit`",
            )
        return [found[n] for n in nodes]


class _LevelNodes:
    """NodeSource over hashes recomputed in memory by `audit` (32 bytes per node)."""

    def __init__(self, levels: list[bytearray]) -> None:
        self._levels = levels

    def subtree_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        return [bytes(self._levels[n.level][n.index * 32 : n.index * 32 + 32]) for n in nodes]


class SqlLedger:
    """Append-only RFC 9162 log in the catalog tables of `store/ledger_tables.py`."""

    # --- writing -------------------------------------------------------------------------

    def append(self, session: Session, data: bytes) -> int:
        """Append one leaf in the caller's transaction; return its index."""
        return self.append_many(session, [data])[0]

    def append_many(self, session: Session, datas: Iterable[bytes]) -> list[int]:
        """Append leaves in order in the caller's transaction; return their indexes.

        Reads only the O(log n) frontier, then inserts leaves and the subtree hashes they
        close in batches.
        """
        start, _ = self._head(session, lock=True)
        frontier = merkle.perfect_subtrees(0, start)
        tree = CompactRange(start, _SessionNodes(session).subtree_hashes(frontier))
        it = iter(datas)
        while batch := list(islice(it, _BATCH)):
            leaf_rows, node_rows = [], []
            for data in batch:
                h = merkle.leaf_hash(data)
                leaf_rows.append((tree.size, data, h, *leaf_key(data)))
                for node, nh in tree.append(h):
                    node_rows.append((_node_id(*node), nh))
            _insert_many(session, _LEAVES, leaf_rows)
            _insert_many(session, _NODES, node_rows)
        if tree.size > start:
            session.execute(
                update(LedgerHeadRow)
                .where(LedgerHeadRow.id == _HEAD_ID)
                .values(tree_size=tree.size, root_hash=tree.root())
            )
        return list(range(start, tree.size))

    def save_checkpoint(self, session: Session, note: str) -> StoredCheckpoint:
        """Keep a signed checkpoint note; refuse one that contradicts a kept one."""
        body = Checkpoint.parse(SignedNote.parse(note).text)
        kept = session.get(LedgerCheckpointRow, body.size)
        if kept is not None:
            if kept.root_hash != body.root_hash:
                raise IntegrityError(
                    f"refusing to keep a checkpoint at size {body.size} whose root differs from "
                    "the one already signed: the log was rewritten",
                    hint="run `assetloom ledger audit`",
                )
            return _stored(kept)
        row = LedgerCheckpointRow(
            tree_size=body.size, root_hash=body.root_hash, note=note, signed_at=datetime.now(UTC)
        )
        session.add(row)
        session.flush()
        return _stored(row)

    # --- reading -------------------------------------------------------------------------

    def size(self, session: Session) -> int:
        """Number of leaves (from the head row, one read)."""
        return self._head(session)[0]

    def root(self, session: Session, size: int | None = None) -> bytes:
        """Root hash at `size` (default: now), from at most log2(size) stored hashes."""
        head_size, head_root = self._head(session)
        if size is None or size == head_size:
            return head_root
        self._check_size(size, head_size)
        return merkle.tree_root(size, _SessionNodes(session))

    def inclusion_proof(self, session: Session, index: int, size: int) -> list[bytes]:
        """Audit path of leaf `index` in the tree of `size` leaves."""
        self._check_size(size, self.size(session))
        return merkle.inclusion_proof(index, size, _SessionNodes(session))

    def consistency_proof(self, session: Session, old: int, new: int) -> list[bytes]:
        """Proof that the tree of `old` leaves is a prefix of the tree of `new` leaves."""
        self._check_size(new, self.size(session))
        return merkle.consistency_proof(old, new, _SessionNodes(session))

    def leaf(self, session: Session, index: int) -> LeafRecord:
        row = session.execute(
            select(LedgerLeafRow.idx, LedgerLeafRow.data, LedgerLeafRow.leaf_hash).where(
                LedgerLeafRow.idx == index
            )
        ).one_or_none()
        if row is None:
            raise BadInputError(f"the ledger has no leaf {index}")
        return LeafRecord(*row)

    def latest_leaf(self, session: Session, asset_id: str, kind: str) -> LeafRecord | None:
        """The newest leaf of `kind` ("register" or "tombstone") for an asset, if any."""
        row = session.execute(
            select(LedgerLeafRow.idx, LedgerLeafRow.data, LedgerLeafRow.leaf_hash)
            .where(LedgerLeafRow.asset_id == asset_id, LedgerLeafRow.kind == kind)
            .order_by(LedgerLeafRow.idx.desc())
            .limit(1)
        ).one_or_none()
        return LeafRecord(*row) if row else None

    def iter_leaves(self, session: Session, end: int | None = None) -> Iterator[LeafRecord]:
        """Stream leaves in index order (below `end` if given), a batch at a time."""
        q = select(LedgerLeafRow.idx, LedgerLeafRow.data, LedgerLeafRow.leaf_hash)
        if end is not None:
            q = q.where(LedgerLeafRow.idx < end)
        rows = session.connection().execute(
            q.order_by(LedgerLeafRow.idx).execution_options(yield_per=_BATCH)
        )
        for row in rows:
            yield LeafRecord(*row)

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

    # --- audit ---------------------------------------------------------------------------

    def audit(
        self,
        session: Session,
        recompute_leaf: Callable[[LeafRecord], bytes | None] | None = None,
    ) -> AuditReport:
        """Recheck everything stored against everything else; report what does not agree.

        Leaf hashes against leaf bytes, leaf bytes against `recompute_leaf` (the catalog's
        version of the leaf, None when there is nothing to compare), every stored subtree hash
        against a rebuild from the leaves, the head, and every kept checkpoint's root and size.
        Signatures are checked by the caller, which holds the key. Memory: 64 bytes per leaf.
        """
        head_size, head_root = self._head(session)
        report = AuditReport(tree_size=head_size)
        level0, bad_leaves = self._check_leaves(session, report, recompute_leaf)
        size = len(level0) // 32
        report.leaves_checked = size
        if size != head_size:
            report.add(
                min(size, head_size),
                f"the log holds {size} contiguous leaves but its head says {head_size}",
            )
        levels = self._check_nodes(session, report, level0, bad_leaves, size == head_size)
        tree = _LevelNodes(levels)
        if head_size <= size and merkle.tree_root(head_size, tree) != head_root:
            report.add(None, f"the stored root for size {head_size} does not match the leaves")
        # A root that no longer matches is news only where no leaf below it was flagged.
        explained = min((p.index for p in report.problems if p.index is not None), default=size)
        vouched = 0
        for cp in self.checkpoints(session):
            report.checkpoints_checked += 1
            body = Checkpoint.parse(SignedNote.parse(cp.note).text)
            if (body.size, body.root_hash) != (cp.tree_size, cp.root_hash):
                report.add(None, f"checkpoint row {cp.tree_size} disagrees with its signed note")
            if cp.tree_size > size:
                report.add(
                    size,
                    f"the log was truncated: a checkpoint was signed at size {cp.tree_size} "
                    f"but only {size} leaves remain",
                )
            elif merkle.tree_root(cp.tree_size, tree) != cp.root_hash:
                if explained < cp.tree_size:
                    continue
                report.add(
                    vouched,
                    f"leaves [{vouched}, {cp.tree_size}) were rewritten after the checkpoint "
                    f"at size {cp.tree_size} was signed: its root no longer matches",
                )
            else:
                vouched = cp.tree_size
        report.problems.sort(key=lambda p: (p.index is None, p.index or 0))
        return report

    def _check_leaves(
        self,
        session: Session,
        report: AuditReport,
        recompute_leaf: Callable[[LeafRecord], bytes | None] | None,
    ) -> tuple[bytearray, set[int]]:
        """Leaf hashes recomputed from leaf bytes up to the first gap, and the altered leaves."""
        q = select(
            LedgerLeafRow.idx,
            LedgerLeafRow.data,
            LedgerLeafRow.leaf_hash,
            LedgerLeafRow.kind,
            LedgerLeafRow.asset_id,
        ).order_by(LedgerLeafRow.idx)
        hashes, altered = bytearray(), set()
        rows = session.connection().execute(q.execution_options(yield_per=_BATCH))
        for expected, (idx, data, stored, kind, asset_id) in enumerate(rows):
            if idx != expected:
                report.add(expected, f"leaf {expected} is missing (the next stored leaf is {idx})")
                break
            h = merkle.leaf_hash(data)
            if h != stored:
                altered.add(idx)
                report.add(idx, f"leaf {idx}: its bytes do not match its stored hash (altered)")
            if (kind, asset_id) != leaf_key(data):
                report.add(idx, f"leaf {idx}: its asset/type index columns disagree with it")
            if recompute_leaf is not None:
                want = recompute_leaf(LeafRecord(idx, data, stored))
                if want is not None and want != data:
                    report.add(idx, f"leaf {idx} ({asset_id}) differs from the catalog's record")
            hashes += h
        return hashes, altered

    def _check_nodes(
        self,
        session: Session,
        report: AuditReport,
        level0: bytearray,
        bad_below: set[int],
        complete: bool,
    ) -> list[bytearray]:
        """Rebuild every complete subtree from the leaves and compare it with ledger_nodes.

        A mismatch is reported only where both children matched, so one altered leaf names
        itself (or its pair) rather than every ancestor. Stored hashes of subtrees reaching
        past the checked leaves are judged only when the log is `complete`.
        """
        top = (session.scalar(select(func.max(LedgerNodeRow.node_id))) or 0) >> NODE_LEVEL_SHIFT
        levels = [level0]
        level = 0
        while levels[-1] or level < top:
            prev, level = levels[-1], level + 1
            cur = bytearray()
            for i in range(0, len(prev) - 63, 64):
                cur += merkle.node_hash(prev[i : i + 32], prev[i + 32 : i + 64])
            count, bad, want = 0, set(), len(cur) // 32
            rows = session.connection().execute(
                select(LedgerNodeRow.node_id - _node_id(level, 0), LedgerNodeRow.hash)
                .where(
                    LedgerNodeRow.node_id.between(_node_id(level, 0), _node_id(level + 1, 0) - 1)
                )
                .order_by(LedgerNodeRow.node_id)
                .execution_options(yield_per=_BATCH)
            )
            for idx, h in rows:
                lo, hi = idx << level, (idx + 1) << level
                if idx >= want:
                    if complete:
                        report.add(None, f"a hash is stored for leaves [{lo}, {hi}) past the end")
                    continue
                if idx != count:
                    report.add(
                        count << level,
                        f"the hash of leaves [{count << level}, "
                        f"{(count + 1) << level}) is missing (level {level})",
                    )
                count = idx + 1
                if cur[idx * 32 : idx * 32 + 32] != h:
                    bad.add(idx)
                    if not {2 * idx, 2 * idx + 1} & bad_below:
                        report.add(
                            lo,
                            f"the stored hash of leaves [{lo}, {hi}) does not match "
                            f"them (level {level}, index {idx})",
                        )
            if count != want:
                report.add(
                    count << level,
                    f"the hash of leaves [{count << level}, "
                    f"{(count + 1) << level}) is missing (level {level})",
                )
            levels.append(cur)
            bad_below = bad
        return levels

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def _head(session: Session, *, lock: bool = False) -> tuple[int, bytes]:
        q = select(LedgerHeadRow.tree_size, LedgerHeadRow.root_hash).where(
            LedgerHeadRow.id == _HEAD_ID
        )
        row = session.execute(q.with_for_update() if lock else q).one_or_none()
        if row is None:
            raise IntegrityError(
                "the ledger head row is missing", hint="was the catalog migrated (revision 0002)?"
            )
        return row[0], row[1]

    @staticmethod
    def _check_size(size: int, head_size: int) -> None:
        if not 0 <= size <= head_size:
            raise BadInputError(f"tree size {size} is outside the log (0..{head_size})")


def _insert_many(session: Session, table: Table, rows: list[tuple[object, ...]]) -> None:
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
