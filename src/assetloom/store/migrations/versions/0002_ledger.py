"""ledger: transparency-log leaves, subtree hashes, head and signed checkpoints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_INDEX = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_leaves",
        sa.Column("idx", _INDEX, autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("asset_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("idx"),
    )
    with op.batch_alter_table("ledger_leaves", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_leaves_asset_id_kind", ["asset_id", "kind"], unique=False)

    op.create_table(
        "ledger_nodes",
        sa.Column("node_id", _INDEX, autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("node_id"),
    )
    head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": 1, "tree_size": 0, "root_hash": hashlib.sha256(b"").digest()}])
    op.create_table(
        "ledger_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size"),
    )


def downgrade() -> None:
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_head")
    op.drop_table("ledger_nodes")
    with op.batch_alter_table("ledger_leaves", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_leaves_asset_id_kind")
    op.drop_table("ledger_leaves")
