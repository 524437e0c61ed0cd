"""metadata: edit history, custom field definitions and rejected auto-tags (issue #13, metadata)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 02:20:00.000000
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
