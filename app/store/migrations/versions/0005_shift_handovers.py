"""Handovers per shift: the "Got it" presses of incoming people.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "handover_acks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team", sa.String(length=80), nullable=False),
        sa.Column("shift_start", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("acked_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("team", "shift_start", "user_id", name="uq_handover_acks_team_start_user"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("handover_acks")
