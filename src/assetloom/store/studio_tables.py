"""Studio tables (revision 0010): projects (a brief and what was made from it), creations (the
recipe and quality of each output) and lineage (which assets an asset was derived from).

Lineage edges name their parent by id without a foreign key: the history that an output was
made from an asset outlives that asset (the edge then names an id the catalog no longer has,
and `lineage` says so). The child side cascades: a removed output takes its edges with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assetloom.store.schema import Base


class ProjectRow(Base):
    __tablename__ = "projects"

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    """"create" (from a brief) or "repurpose" (from an asset and an instruction)."""
    brief: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CreationRow(Base):
    __tablename__ = "creations"

    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.asset_id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.project_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    backend: Mapped[str] = mapped_column(String(64))
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LineageRow(Base):
    __tablename__ = "lineage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("assets.asset_id", ondelete="CASCADE"))
    parent_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (
        Index("ix_lineage_child", "child_id"),
        Index("ix_lineage_parent", "parent_id"),
    )
