"""Escalations remember who paged, acknowledged and resolved them; cached profiles say guest or bot.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision: existing escalations stay open until someone resolves them."""
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("paged_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("acked_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("acked_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("closed_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("slack_users") as batch:
        # NULL: cached before guests were recorded; the next check asks users.info again.
        batch.add_column(sa.Column("is_guest", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("is_bot", sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("slack_users") as batch:
        batch.drop_column("is_bot")
        batch.drop_column("is_guest")
    with op.batch_alter_table("escalations") as batch:
        for column in ("closed_at", "closed_by", "acked_at", "acked_by", "paged_by"):
            batch.drop_column(column)
