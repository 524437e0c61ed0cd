"""Catalog tables. Changes here need an Alembic revision in `store/migrations/versions/`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class AssetRow(Base):
    __tablename__ = "assets"

    asset_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    media_type: Mapped[str] = mapped_column(String(16), index=True)
    mime: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str] = mapped_column(Text)
    source_path: Mapped[str | None] = mapped_column(Text)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    metadata_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    has_thumbnail: Mapped[bool] = mapped_column(default=False)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    review: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    """Moderation's review state (revision 0011): None (never flagged), "flagged",
    "quarantined" (hidden from lists and searches) or "approved" (see app/review.py)."""
    status: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    """Workflow status a person set (revision 0012): draft, in_review, approved, archived; None
    until someone sets one."""
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    """0-5 stars a person gave; None if unrated."""
    captured_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    """When the picture was taken (EXIF DateTimeOriginal, from metadata at ingest): sorting by
    capture date and the timeline read an indexed column, not every row's JSON."""
    trashed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    """When `rm` moved the asset to the trash; None while it is in the library."""

    fingerprints: Mapped[list[FingerprintRow]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", lazy="selectin"
    )

    # Listing order and cursor pages (listing.py) without a sort step.
    __table_args__ = (Index("ix_assets_registered_at_asset_id", "registered_at", "asset_id"),)


class FingerprintRow(Base):
    __tablename__ = "fingerprints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.asset_id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    quality: Mapped[int | None] = mapped_column(Integer)

    asset: Mapped[AssetRow] = relationship(back_populates="fingerprints")

    __table_args__ = (Index("ix_fingerprints_kind_value", "kind", "value"),)


class PendingBlobRow(Base):
    """A blob written before its catalog row committed; swept if the row never arrives."""

    __tablename__ = "pending_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_pid: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    job_id: Mapped[int | None] = mapped_column(Integer)
    """The job (with its lease) that wrote it; None for rows of catalogs before 0007."""


class JobRow(Base):
    """Work claimed under a lease: `lease_until` moves on with each heartbeat, so a job whose
    lease ran out died (on any host), and what it left half-done can be undone."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    """What makes a re-run of the same work the same job (a no-op to enqueue again)."""
    state: Mapped[str] = mapped_column(String(16))
    owner_host: Mapped[str] = mapped_column(String(255))
    owner_pid: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("key", name="uq_jobs_key"),
        Index("ix_jobs_state_lease_until", "state", "lease_until"),
    )


class SeenFileRow(Base):
    """(path, size, mtime) -> sha256, so re-running `add` on a big folder skips re-hashing."""

    __tablename__ = "seen_files"

    path: Mapped[str] = mapped_column(Text, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))


from assetloom.store import account_tables as _account_tables  # noqa: E402,F401
from assetloom.store import duplicates_tables as _duplicates_tables  # noqa: E402,F401
from assetloom.store import ledger_tables as _ledger_tables  # noqa: E402,F401
from assetloom.store import meta_tables as _meta_tables  # noqa: E402,F401
from assetloom.store import organise_tables as _organise_tables  # noqa: E402,F401
from assetloom.store import search_tables as _search_tables  # noqa: E402,F401
from assetloom.store import studio_tables as _studio_tables  # noqa: E402,F401
