"""keyword_tags: the model's own tags leave the keyword index (issue #14, ranking)

Until now every tag's names went into `asset_text.tags`, so a word query matched what the
tagger guessed ("dog running on grass" ranked a gravel texture tagged grass first). From now on
that field holds only tags a person added (source "manual"); every tag before this revision
came from the model, so the field is emptied where an asset has no hand-added tag.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 02:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE asset_text SET tags = '' WHERE tags <> '' AND asset_id NOT IN "
        "(SELECT asset_id FROM tags WHERE source = 'manual')"
    )


def downgrade() -> None:
    """The model's tag names are not restored (`assetloom index embed` would not either)."""
