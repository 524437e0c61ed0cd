"""jobs: work claimed under a lease (host, pid, heartbeat); pending blobs name their job

A pending blob used to name only the process id that wrote it, which says nothing once two
hosts share a catalog (PostgreSQL + S3). Each `add` now runs as a job whose lease its process
renews; a blob whose job's lease ran out (or whose process on this host is gone) and that no
asset claims is swept.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner_host", sa.String(255), nullable=False),
        sa.Column("owner_pid", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("key", name="uq_jobs_key"),
    )
    op.create_index("ix_jobs_state_lease_until", "jobs", ["state", "lease_until"])
    with op.batch_alter_table("pending_blobs") as batch:
        batch.add_column(sa.Column("job_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pending_blobs") as batch:
        batch.drop_column("job_id")
    op.drop_index("ix_jobs_state_lease_until", table_name="jobs")
    op.drop_table("jobs")
