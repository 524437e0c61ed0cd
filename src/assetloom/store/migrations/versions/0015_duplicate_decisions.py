"""duplicate_decisions: remembered not-a-duplicate decisions (issue #14, duplicates)

Also the incremental state of `duplicates`: which assets were compared under which rules
(duplicate_scans) and the links found (duplicate_links). Every row cascades with its assets.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 02:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _asset(name: str, **kw: object) -> sa.Column:
    return sa.Column(
        name, sa.String(32), sa.ForeignKey("assets.asset_id", ondelete="CASCADE"), **kw
    )


def upgrade() -> None:
    op.create_table(
        "duplicate_scans",
        _asset("asset_id", primary_key=True),
        sa.Column("rules", sa.String(32), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "duplicate_links",
        _asset("asset_a", primary_key=True),
        _asset("asset_b", primary_key=True),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("distance", sa.Float(), nullable=False),
        sa.Column("inliers", sa.Integer(), nullable=True),
        sa.CheckConstraint("asset_a < asset_b", name="ck_duplicate_links_order"),
    )
    op.create_index("ix_duplicate_links_asset_b", "duplicate_links", ["asset_b"])
    op.create_table(
        "duplicate_decisions",
        _asset("asset_a", primary_key=True),
        _asset("asset_b", primary_key=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("asset_a < asset_b", name="ck_duplicate_decisions_order"),
    )
    op.create_index("ix_duplicate_decisions_asset_b", "duplicate_decisions", ["asset_b"])


def downgrade() -> None:
    op.drop_index("ix_duplicate_decisions_asset_b", table_name="duplicate_decisions")
    op.drop_table("duplicate_decisions")
    op.drop_index("ix_duplicate_links_asset_b", table_name="duplicate_links")
    op.drop_table("duplicate_links")
    op.drop_table("duplicate_scans")
