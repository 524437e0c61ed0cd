"""assets: status, rating, captured_at and trashed_at columns for the team library

What a person sets on an asset (workflow status, star rating) and what every list sorts or
filters by (capture date, whether the asset is in the trash) are columns beside the row,
indexed, so sorting 10,000 assets by capture date or hiding the trash is an index range, not a
scan of every row's JSON. captured_at is filled from the metadata each extractor already
recorded; the others start NULL (unset, not trashed).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 02:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from assetloom.core.listing import captured_at_of

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_COLUMNS = ("status", "rating", "captured_at", "trashed_at")


def upgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("trashed_at", sa.DateTime(timezone=True), nullable=True))
    for column in _COLUMNS:
        op.create_index(f"ix_assets_{column}", "assets", [column])
    assets = sa.table(
        "assets",
        sa.column("asset_id", sa.String),
        sa.column("metadata_json", sa.JSON),
        sa.column("captured_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(assets.c.asset_id, assets.c.metadata_json)).all()
    updates = [
        {"id": asset_id, "at": at}
        for asset_id, meta in rows
        if (at := captured_at_of(meta)) is not None
    ]
    if updates:
        bind.execute(
            assets.update()
            .where(assets.c.asset_id == sa.bindparam("id"))
            .values(captured_at=sa.bindparam("at")),
            updates,
        )


def downgrade() -> None:
    for column in _COLUMNS:
        op.drop_index(f"ix_assets_{column}", table_name="assets")
    with op.batch_alter_table("assets") as batch:
        for column in reversed(_COLUMNS):
            batch.drop_column(column)
