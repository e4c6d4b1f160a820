"""Cached shifts remember their layer (a rotation of the schedule), for handovers and /oncall per layer.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision: shifts cached before it have no layer until the next timeline read."""
    with op.batch_alter_table("shifts") as batch:
        batch.add_column(sa.Column("layer", sa.String(length=200), nullable=False, server_default=""))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("shifts") as batch:
        batch.drop_column("layer")
