"""The log store port: where the transparency log keeps its leaves, subtree hashes, head and
checkpoints.

`log_store.SqlLedger` holds the log's rules (what an append writes, roots and proofs from
stored hashes, the audit, refusing a checkpoint that contradicts a kept one) and reaches its
rows only through this port; `store.ledger.SqlLogStore` fills it with SQL for SQLite and
PostgreSQL. A store works in the caller's session and never commits, so a leaf and the asset
row it registers land in one transaction, or neither does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session

from assetloom.core.merkle import Node
from assetloom.store.ledger import LeafRecord, LeafRow, StoredCheckpoint

__all__ = ["LeafRecord", "LeafRow", "LogStore", "StoredCheckpoint"]


@runtime_checkable
class LogStore(Protocol):
    def head(self, session: Session, *, lock: bool = False) -> tuple[int, bytes]:
        """(tree size, root) after the last append; `lock` holds it against other appends
        until the transaction ends. IntegrityError when the log has no head."""
        ...

    def set_head(self, session: Session, size: int, root: bytes) -> None: ...

    def add(self, session: Session, leaves: list[LeafRow], nodes: list[tuple[Node, bytes]]) -> None:
        """Leaves, and the hashes of the complete subtrees of level >= 1 they close."""
        ...

    def stored_hashes(self, session: Session, nodes: Sequence[Node]) -> dict[Node, bytes]:
        """What is stored of these subtrees' hashes (level 0: the leaf hashes), in one batch,
        so a proof costs a fixed number of round trips; missing ones are left out."""
        ...

    def leaf(self, session: Session, index: int) -> LeafRecord | None: ...

    def latest_leaf(self, session: Session, asset_id: str, kind: str) -> LeafRecord | None:
        """The newest leaf whose index columns say (kind, asset id)."""
        ...

    def leaves(self, session: Session, end: int | None = None) -> Iterator[LeafRecord]:
        """In index order, below `end` if given, streamed (a log may not fit in memory)."""
        ...

    def leaf_rows(self, session: Session) -> Iterator[LeafRow]:
        """Every leaf with its index columns as stored, in index order, streamed."""
        ...

    def top_level(self, session: Session) -> int:
        """The highest level with a stored subtree hash; 0 when there is none."""
        ...

    def level_hashes(self, session: Session, level: int) -> Iterator[tuple[int, bytes]]:
        """(index, hash) of one level's stored subtree hashes, in index order, streamed."""
        ...

    def add_checkpoint(self, session: Session, checkpoint: StoredCheckpoint) -> None: ...

    def checkpoints(self, session: Session) -> list[StoredCheckpoint]:
        """Smallest tree first."""
        ...

    def checkpoint_at(self, session: Session, size: int) -> StoredCheckpoint | None: ...

    def latest_checkpoint(self, session: Session) -> StoredCheckpoint | None: ...
