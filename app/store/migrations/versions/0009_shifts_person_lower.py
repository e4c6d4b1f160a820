"""An index on lower(person) of the cached shifts: `/oncall me` looked its shifts up by a full scan.

The pagers may keep an email's capitals, so the asker's shifts are matched on ``lower(person)``; the
index on ``person`` cannot serve that, and every `me` that missed the memo read the whole timeline
(~1.8 ms of CPU at 10k shifts, bench/ack.py). SQLite and PostgreSQL both use an index on the same
expression.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_shifts_person_lower", "shifts", [sa.text("lower(person)")])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_shifts_person_lower", table_name="shifts")
