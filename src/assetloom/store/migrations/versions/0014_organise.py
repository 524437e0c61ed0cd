"""organise: collections, share links (issue #13, organise/share/undo)

Collections (one level of nesting, a cover, smart ones keeping a saved search), their ordered
items and share links (token and password stored hashed). Items and shares cascade with their
asset and collection. The trash needs no table: it is `assets.trashed_at` (revision 0012).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 02:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column(
            "parent_id",
            sa.Integer(),
            sa.ForeignKey("collections.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "cover_asset_id",
            sa.String(32),
            sa.ForeignKey("assets.asset_id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("query", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_collections_parent_id", "collections", ["parent_id"])
    op.create_table(
        "collection_items",
        sa.Column(
            "collection_id",
            sa.Integer(),
            sa.ForeignKey("collections.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "asset_id",
            sa.String(32),
            sa.ForeignKey("assets.asset_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_collection_items_order", "collection_items", ["collection_id", "position"])
    op.create_index("ix_collection_items_asset", "collection_items", ["asset_id"])
    op.create_table(
        "shares",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column(
            "collection_id",
            sa.Integer(),
            sa.ForeignKey("collections.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "asset_id",
            sa.String(32),
            sa.ForeignKey("assets.asset_id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("allow_download", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_shares_collection_id", "shares", ["collection_id"])
    op.create_index("ix_shares_asset_id", "shares", ["asset_id"])


def downgrade() -> None:
    op.drop_index("ix_shares_asset_id", table_name="shares")
    op.drop_index("ix_shares_collection_id", table_name="shares")
    op.drop_table("shares")
    op.drop_index("ix_collection_items_asset", table_name="collection_items")
    op.drop_index("ix_collection_items_order", table_name="collection_items")
    op.drop_table("collection_items")
    op.drop_index("ix_collections_parent_id", table_name="collections")
    op.drop_table("collections")
