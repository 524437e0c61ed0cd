"""search: embeddings, tags, tag definitions, FTS5 asset_text

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 17:25:24.244067
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


FTS_COLUMNS = "asset_id UNINDEXED, name, title, description, keywords, tags, content"


def upgrade() -> None:
    op.create_table(
        "tag_definitions",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "embeddings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.Column("space", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.asset_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("embeddings", schema=None) as batch_op:
        batch_op.create_index("ix_embeddings_asset_space", ["asset_id", "space"], unique=False)
        batch_op.create_index("ix_embeddings_space_model", ["space", "model"], unique=False)

    op.create_table(
        "tags",
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.asset_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("asset_id", "tag"),
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index("ix_tags_tag_score", ["tag", "score"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # Keyword search (BM25). CJK text is stored one character per token (see store.fts).
        op.execute(
            f"CREATE VIRTUAL TABLE asset_text USING fts5({FTS_COLUMNS}, "
            "tokenize='unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS asset_text")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index("ix_tags_tag_score")

    op.drop_table("tags")
    with op.batch_alter_table("embeddings", schema=None) as batch_op:
        batch_op.drop_index("ix_embeddings_space_model")
        batch_op.drop_index("ix_embeddings_asset_space")

    op.drop_table("embeddings")
    op.drop_table("tag_definitions")
