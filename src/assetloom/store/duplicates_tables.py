"""Duplicate tables (revision 0015): what `duplicates` found, what it has compared, and the
pairs people said are not duplicates.

`duplicates` compares only assets without a scan row of the current rules version against the
rest, and keeps the links it found, so a run after adding ten files looks at ten files. All
three tables cascade with their assets: deleting an asset drops its links and decisions. A pair
is stored once, with `asset_a < asset_b`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from assetloom.store.schema import Base


class DuplicateScanRow(Base):
    """This asset has been compared with every asset that existed when it was scanned."""

    __tablename__ = "duplicate_scans"

    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.asset_id", ondelete="CASCADE"), primary_key=True
    )
    rules: Mapped[str] = mapped_column(String(32))
    """`core.duplicates.RULES_VERSION` at the scan: a newer rule rescans."""
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DuplicateLinkRow(Base):
    """Two assets the copy rules (or, tier "similar", embeddings) matched."""

    __tablename__ = "duplicate_links"
    __table_args__ = (CheckConstraint("asset_a < asset_b", name="ck_duplicate_links_order"),)

    asset_a: Mapped[str] = mapped_column(
        ForeignKey("assets.asset_id", ondelete="CASCADE"), primary_key=True
    )
    asset_b: Mapped[str] = mapped_column(
        ForeignKey("assets.asset_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    tier: Mapped[str] = mapped_column(String(16))
    distance: Mapped[float] = mapped_column(Float)
    inliers: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DuplicateDecisionRow(Base):
    """Someone said these two are not duplicates: `duplicates` no longer links them."""

    __tablename__ = "duplicate_decisions"
    __table_args__ = (CheckConstraint("asset_a < asset_b", name="ck_duplicate_decisions_order"),)

    asset_a: Mapped[str] = mapped_column(
        ForeignKey("assets.asset_id", ondelete="CASCADE"), primary_key=True
    )
    asset_b: Mapped[str] = mapped_column(
        ForeignKey("assets.asset_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    decision: Mapped[str] = mapped_column(String(16))
    """"distinct" (the only decision so far)."""
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
