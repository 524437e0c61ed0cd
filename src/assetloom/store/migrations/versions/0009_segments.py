"""segments: vectors of parts of an asset, and the text found inside it

A video is ranked once, by its best moment; a recording by the passage that was said. So an
asset may now hold several vectors per space: the whole's (segment NULL) and one per key frame
or passage (segment: where it comes from, as JSON). `passages` keeps the text found inside
an asset (transcript segments, page text, OCR lines) with its place, for the asset page and
for naming the passage a keyword hit came from.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("embeddings") as batch:
        batch.add_column(sa.Column("segment", sa.JSON(), nullable=True))
    op.create_table(
        "passages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "asset_id",
            sa.String(32),
            sa.ForeignKey("assets.asset_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("start", sa.Float(), nullable=True),
        sa.Column("end", sa.Float(), nullable=True),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_passages_asset_seq", "passages", ["asset_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_passages_asset_seq", table_name="passages")
    op.drop_table("passages")
    with op.batch_alter_table("embeddings") as batch:
        batch.drop_column("segment")
