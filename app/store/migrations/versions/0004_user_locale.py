"""Cached profiles remember the user's Slack locale: private answers are written in it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision: profiles cached before it have no locale and are asked for again."""
    with op.batch_alter_table("slack_users") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("slack_users") as batch:
        batch.drop_column("locale")
