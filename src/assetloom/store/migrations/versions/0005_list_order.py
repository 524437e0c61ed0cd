"""assets: (registered_at, asset_id) index for listing in order and cursor pages

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:50:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_assets_registered_at_asset_id", "assets", ["registered_at", "asset_id"])


def downgrade() -> None:
    op.drop_index("ix_assets_registered_at_asset_id", table_name="assets")
