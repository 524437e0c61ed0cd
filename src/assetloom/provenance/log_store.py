"""The transparency log stored in the catalog database: its rules, over a `LogStore`.

Every method takes the caller's SQLAlchemy `Session` and never commits, so the library appends
a leaf in the same transaction as the asset row it registers: both land or neither does.
Appends lock the log's head first, so concurrent writers get consecutive indexes.

Complete-subtree hashes are written as leaves close them, so roots and proofs at any size
read O(log n) stored hashes in one batch. The rows themselves, and their SQL, are the store's
(`store.ledger.SqlLogStore` unless another `provenance.base.LogStore` is given).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from sqlalchemy.orm import Session

from assetloom.core import merkle
from assetloom.core.checkpoint import Checkpoint, SignedNote
from assetloom.core.merkle import CompactRange, Node
from assetloom.errors import BadInputError, IntegrityError
from assetloom.provenance.base import LeafRecord, LeafRow, LogStore, StoredCheckpoint
from assetloom.provenance.leaves import leaf_key
from assetloom.store.ledger import SqlLogStore

__all__ = [
    "AuditProblem",
    "AuditReport",
    "LeafRecord",
    "SqlLedger",
    "StoredCheckpoint",
]

_BATCH = 20_000
_MAX_PROBLEMS = 50


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


class _StoredNodes:
    """NodeSource over what the store keeps; a hash it lacks means the log was damaged."""

    def __init__(self, store: LogStore, session: Session) -> None:
        self._store = store
        self._session = session

    def subtree_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        found = self._store.stored_hashes(self._session, nodes)
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
    """Append-only RFC 9162 log in the catalog, kept by `store` (the SQL tables by default)."""

    def __init__(self, store: LogStore | None = None) -> None:
        self._store: LogStore = store or SqlLogStore()

    # --- writing -------------------------------------------------------------------------

    def append(self, session: Session, data: bytes) -> int:
        """Append one leaf in the caller's transaction; return its index."""
        return self.append_many(session, [data])[0]

    def append_many(self, session: Session, datas: Iterable[bytes]) -> list[int]:
        """Append leaves in order in the caller's transaction; return their indexes.

        Reads only the O(log n) frontier, then stores leaves and the subtree hashes they
        close in batches.
        """
        start, _ = self._store.head(session, lock=True)
        frontier = merkle.perfect_subtrees(0, start)
        tree = CompactRange(start, _StoredNodes(self._store, session).subtree_hashes(frontier))
        it = iter(datas)
        while batch := list(islice(it, _BATCH)):
            leaf_rows: list[LeafRow] = []
            node_rows: list[tuple[Node, bytes]] = []
            for data in batch:
                h = merkle.leaf_hash(data)
                leaf_rows.append((tree.size, data, h, *leaf_key(data)))
                node_rows += tree.append(h)
            self._store.add(session, leaf_rows, node_rows)
        if tree.size > start:
            self._store.set_head(session, tree.size, tree.root())
        return list(range(start, tree.size))

    def save_checkpoint(self, session: Session, note: str) -> StoredCheckpoint:
        """Keep a signed checkpoint note; refuse one that contradicts a kept one."""
        body = Checkpoint.parse(SignedNote.parse(note).text)
        kept = self._store.checkpoint_at(session, body.size)
        if kept is not None:
            if kept.root_hash != body.root_hash:
                raise IntegrityError(
                    f"refusing to keep a checkpoint at size {body.size} whose root differs from "
                    "the one already signed: the log was rewritten",
                    hint="run `assetloom ledger audit`",
                )
            return kept
        checkpoint = StoredCheckpoint(body.size, body.root_hash, note, datetime.now(UTC))
        self._store.add_checkpoint(session, checkpoint)
        return checkpoint

    # --- reading -------------------------------------------------------------------------

    def size(self, session: Session) -> int:
        """Number of leaves (from the head, one read)."""
        return self._store.head(session)[0]

    def root(self, session: Session, size: int | None = None) -> bytes:
        """Root hash at `size` (default: now), from at most log2(size) stored hashes."""
        head_size, head_root = self._store.head(session)
        if size is None or size == head_size:
            return head_root
        self._check_size(size, head_size)
        return merkle.tree_root(size, _StoredNodes(self._store, session))

    def inclusion_proof(self, session: Session, index: int, size: int) -> list[bytes]:
        """Audit path of leaf `index` in the tree of `size` leaves."""
        self._check_size(size, self.size(session))
        return merkle.inclusion_proof(index, size, _StoredNodes(self._store, session))

    def consistency_proof(self, session: Session, old: int, new: int) -> list[bytes]:
        """Proof that the tree of `old` leaves is a prefix of the tree of `new` leaves."""
        self._check_size(new, self.size(session))
        return merkle.consistency_proof(old, new, _StoredNodes(self._store, session))

    def leaf(self, session: Session, index: int) -> LeafRecord:
        found = self._store.leaf(session, index)
        if found is None:
            raise BadInputError(f"the ledger has no leaf {index}")
        return found

    def latest_leaf(self, session: Session, asset_id: str, kind: str) -> LeafRecord | None:
        """The newest leaf of `kind` ("register" or "tombstone") for an asset, if any."""
        return self._store.latest_leaf(session, asset_id, kind)

    def iter_leaves(self, session: Session, end: int | None = None) -> Iterator[LeafRecord]:
        """Stream leaves in index order (below `end` if given), a batch at a time."""
        return self._store.leaves(session, end)

    def checkpoints(self, session: Session) -> list[StoredCheckpoint]:
        """Every kept checkpoint, smallest tree first."""
        return self._store.checkpoints(session)

    def checkpoint_at(self, session: Session, size: int) -> StoredCheckpoint | None:
        return self._store.checkpoint_at(session, size)

    def latest_checkpoint(self, session: Session) -> StoredCheckpoint | None:
        return self._store.latest_checkpoint(session)

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
        head_size, head_root = self._store.head(session)
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
        hashes, altered = bytearray(), set()
        rows = self._store.leaf_rows(session)
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
        top = self._store.top_level(session)
        levels = [level0]
        level = 0
        while levels[-1] or level < top:
            prev, level = levels[-1], level + 1
            cur = bytearray()
            for i in range(0, len(prev) - 63, 64):
                cur += merkle.node_hash(prev[i : i + 32], prev[i + 32 : i + 64])
            count, bad, want = 0, set(), len(cur) // 32
            for idx, h in self._store.level_hashes(session, level):
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
    def _check_size(size: int, head_size: int) -> None:
        if not 0 <= size <= head_size:
            raise BadInputError(f"tree size {size} is outside the log (0..{head_size})")
