"""search: embeddings, tags, tag definitions, FTS5 asset_text

On PostgreSQL asset_text is a plain table with a generated, weighted tsvector and a GIN index
(see store.fts_postgres); the other tables are the same on both.

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

# The fields hold store.fts_postgres.tokens() text: folded words and single CJK characters,
# space separated, so the `simple` parser splits them the same way under any locale.
# Weights: title A, keywords B, name / description / tags C, content D.
PG_ASSET_TEXT = """
CREATE TABLE asset_text (
    asset_id varchar(32) PRIMARY KEY,
    name text NOT NULL DEFAULT '',
    title text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    keywords text NOT NULL DEFAULT '',
    tags text NOT NULL DEFAULT '',
    content text NOT NULL DEFAULT '',
    document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, title), 'A')
        || setweight(to_tsvector('simple'::regconfig, keywords), 'B')
        || setweight(to_tsvector('simple'::regconfig, name), 'C')
        || setweight(to_tsvector('simple'::regconfig, description), 'C')
        || setweight(to_tsvector('simple'::regconfig, tags), 'C')
        || setweight(to_tsvector('simple'::regconfig, content), 'D')
    ) STORED
)
"""


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
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # Keyword search (BM25). CJK text is stored one character per token (see store.fts).
        op.execute(
            f"CREATE VIRTUAL TABLE asset_text USING fts5({FTS_COLUMNS}, "
            "tokenize='unicode61 remove_diacritics 2')"
        )
    elif dialect == "postgresql":
        op.execute(PG_ASSET_TEXT)
        op.execute("CREATE INDEX ix_asset_text_document ON asset_text USING gin (document)")


def downgrade() -> None:
    if op.get_bind().dialect.name in ("sqlite", "postgresql"):
        op.execute("DROP TABLE IF EXISTS asset_text")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index("ix_tags_tag_score")

    op.drop_table("tags")
    with op.batch_alter_table("embeddings", schema=None) as batch_op:
        batch_op.drop_index("ix_embeddings_space_model")
        batch_op.drop_index("ix_embeddings_asset_space")

    op.drop_table("embeddings")
    op.drop_table("tag_definitions")
