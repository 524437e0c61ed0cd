"""metadata: edit history, custom field definitions and rejected auto-tags (issue #13, metadata)

Edited metadata lives beside the asset row (`asset_meta`, one row per edited asset), every
change in `meta_history`; `meta_fields` defines the library's custom fields and
`rejected_tags` the auto-tags that must never come back on an asset (store/meta_tables.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 02:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _asset_fk(primary_key: bool = False) -> sa.Column:
    return sa.Column(
        "asset_id",
        sa.String(32),
        sa.ForeignKey("assets.asset_id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "asset_meta",
        _asset_fk(primary_key=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("keywords", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("creator", sa.Text(), nullable=True),
        sa.Column("copyright", sa.Text(), nullable=True),
        sa.Column("licence", sa.Text(), nullable=True),
        sa.Column("usage", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("fields", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=True),
    )
    op.create_table(
        "meta_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _asset_fk(),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("old", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("new", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_meta_history_asset_id", "meta_history", ["asset_id", "id"])
    op.create_table(
        "meta_fields",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rejected_tags",
        _asset_fk(primary_key=True),
        sa.Column("tag", sa.String(64), primary_key=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rejected_tags")
    op.drop_table("meta_fields")
    op.drop_index("ix_meta_history_asset_id", table_name="meta_history")
    op.drop_table("meta_history")
    op.drop_table("asset_meta")
