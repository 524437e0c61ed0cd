"""studio: projects, creations (recipe and quality per output) and lineage edges

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("project_id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("brief", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "creations",
        sa.Column(
            "asset_id",
            sa.String(32),
            sa.ForeignKey("assets.asset_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "project_id", sa.String(32), sa.ForeignKey("projects.project_id"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("backend", sa.String(64), nullable=False),
        sa.Column("recipe", sa.JSON(), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=False),
    )
    op.create_index("ix_creations_project_id", "creations", ["project_id"])
    op.create_table(
        "lineage",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "child_id",
            sa.String(32),
            sa.ForeignKey("assets.asset_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("parent_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_lineage_child", "lineage", ["child_id"])
    op.create_index("ix_lineage_parent", "lineage", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_lineage_parent", table_name="lineage")
    op.drop_index("ix_lineage_child", table_name="lineage")
    op.drop_table("lineage")
    op.drop_index("ix_creations_project_id", table_name="creations")
    op.drop_table("creations")
    op.drop_table("projects")
