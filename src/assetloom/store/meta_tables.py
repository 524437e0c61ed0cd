"""Metadata tables (revision 0013): what people edit on an asset, its history, the library's
custom field definitions and the auto-tags someone rejected.

`asset_meta` keeps only what was edited: a None column means "not edited", so the asset shows
what its file said (title, description, keywords, creator, copyright); "" means someone cleared
it. Rating and workflow status are columns of `assets` (revision 0012), since lists sort and
filter by them. Every change is a `meta_history` row (who, when, field, old, new), written in
the same transaction as the change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assetloom.store.schema import Base


class AssetMetaRow(Base):
    __tablename__ = "asset_meta"

    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.asset_id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    keywords: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    creator: Mapped[str | None] = mapped_column(Text, nullable=True)
    copyright: Mapped[str | None] = mapped_column(Text, nullable=True)
    licence: Mapped[str | None] = mapped_column(Text, nullable=True)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    """{"expires": "YYYY-MM-DD" | None, "channels": [...], "approved_for": [...]}."""
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    """Custom field values by field name (see MetaFieldRow)."""
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class MetaHistoryRow(Base):
    __tablename__ = "meta_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.asset_id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(100))
    """"title", ..., "rating", "status", "fields.<name>", "tags" or "tags.rejected"."""
    old: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    new: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_meta_history_asset_id", "asset_id", "id"),)


class MetaFieldRow(Base):
    """A custom field of this library: its name, kind and (for "choice") the allowed values."""

    __tablename__ = "meta_fields"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    """"text", "number", "date" or "choice"."""
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    label: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RejectedTagRow(Base):
    """An auto-tag someone rejected on an asset: the tagger never puts it back there."""

    __tablename__ = "rejected_tags"

    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.asset_id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
