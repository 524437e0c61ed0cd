"""Understanding tables (revisions 0003, 0009): embeddings, passages, tags, tag definitions.

Vectors live here, in the catalog; the FAISS files under `index/` are rebuilt from them.
The keyword index is an FTS5 virtual table (`asset_text`) created in the migration and
written only through `store.fts`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assetloom.store.schema import Base


class EmbeddingRow(Base):
    __tablename__ = "embeddings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.asset_id", ondelete="CASCADE"))
    space: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    segment: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    """Where in the asset this vector comes from (a key frame, a passage); None: the whole."""

    __table_args__ = (
        Index("ix_embeddings_asset_space", "asset_id", "space"),
        Index("ix_embeddings_space_model", "space", "model"),
    )


class PassageRow(Base):
    """Text found inside an asset (transcript segments, page text, OCR lines), in order."""

    __tablename__ = "passages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.asset_id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    start: Mapped[float | None] = mapped_column(Float, nullable=True)
    end: Mapped[float | None] = mapped_column(Float, nullable=True)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_passages_asset_seq", "asset_id", "seq"),)


class TagRow(Base):
    __tablename__ = "tags"

    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.asset_id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))

    __table_args__ = (Index("ix_tags_tag_score", "tag", "score"),)


class TagDefinitionRow(Base):
    __tablename__ = "tag_definitions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    threshold: Mapped[float] = mapped_column(Float)
    builtin: Mapped[bool] = mapped_column(default=True)
    examples: Mapped[list[Any]] = mapped_column(JSON, default=list)
