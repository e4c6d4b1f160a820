"""Notices record how their post went: claimed, posted or unknown (read back before posting again).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision: existing notices were posted (a refused one was deleted)."""
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="posted"))
        batch.add_column(sa.Column("message_ts", sa.String(length=32), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("message_ts")
        batch.drop_column("status")
