"""Transparency-log tables (revision 0002). Written only through store.ledger.SqlLogStore.

Leaves keep their exact bytes and hash. Every complete subtree of level >= 1 keeps its hash
in ledger_nodes, so a root or proof at any size reads O(log n) rows and never rebuilds the
tree. ledger_head holds the size and root after the last append (one row, locked by appends).
Signed checkpoints are kept so `audit` can prove the log never contradicted one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assetloom.store.schema import Base

# INTEGER PRIMARY KEY is SQLite's rowid itself: no second index, fastest appends.
NODE_LEVEL_SHIFT = 48
_Index = BigInteger().with_variant(Integer(), "sqlite")


class LedgerLeafRow(Base):
    __tablename__ = "ledger_leaves"

    idx: Mapped[int] = mapped_column(_Index, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Derived from `data` at append time, only to find an asset's leaves without a scan.
    kind: Mapped[str | None] = mapped_column(String(16))
    asset_id: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_ledger_leaves_asset_id_kind", "asset_id", "kind"),)


class LedgerNodeRow(Base):
    """Hash of the complete subtree covering leaves [i * 2**level, (i + 1) * 2**level).

    Keyed by one integer, node_id = level * 2**48 + i, so a batch of nodes is one indexed
    `IN` lookup (SQLite scans for row-value IN) and a level is one range scan.
    """

    __tablename__ = "ledger_nodes"

    node_id: Mapped[int] = mapped_column(_Index, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerHeadRow(Base):
    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpointRow(Base):
    __tablename__ = "ledger_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
