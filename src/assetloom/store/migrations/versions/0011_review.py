"""review: moderation's review state of an asset

An asset whose NSFW score reached the library's threshold is "flagged" (visible, listed for
an admin to review) or, under the quarantine policy, "quarantined": hidden from lists,
searches and similar until an admin approves it ("approved") or rejects it (removed). A column
beside the row, indexed, so the filter every list and search applies is one comparison and
the review queue one index range; NULL for every asset moderation never flagged (all of them
before this revision).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("review", sa.String(16), nullable=True))
    op.create_index("ix_assets_review", "assets", ["review"])


def downgrade() -> None:
    op.drop_index("ix_assets_review", table_name="assets")
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("review")
