"""Initial schema: the roster cache, people, syncs, notices, escalations, handovers and announced timelines.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "announced_timelines",
        sa.Column("team", sa.String(length=80), nullable=False),
        sa.Column("shifts", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team"),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=80), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("on_call", sa.JSON(), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("alias", sa.String(length=512), nullable=True),
        sa.Column("alert_request_id", sa.String(length=64), nullable=True),
        sa.Column("alert_id", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("posting_since", sa.DateTime(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("reply_ts", sa.String(length=32), nullable=True),
        sa.Column("outcome_ts", sa.String(length=32), nullable=True),
        sa.Column("post_attempts", sa.Integer(), nullable=False),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", name="uq_escalations_event_id"),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index("ix_escalations_team_created", ["team", "created_at"], unique=False)
        batch_op.create_index("ix_escalations_user_created", ["user_id", "created_at"], unique=False)

    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=80), nullable=False),
        sa.Column("shift_start", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("outgoing", sa.JSON(), nullable=False),
        sa.Column("incoming", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team", "shift_start", name="uq_handovers_team_shift_start"),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team", "kind", "key", name="uq_notices_team_kind_key"),
    )
    op.create_table(
        "oncall_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=80), nullable=False),
        sa.Column("people", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("oncall_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_oncall_snapshots_team_seen", ["team", "first_seen_at"], unique=False)

    op.create_table(
        "people",
        sa.Column("pager_id", sa.String(length=320), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pager_id"),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_slack_user_id"), ["slack_user_id"], unique=False)

    op.create_table(
        "shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=80), nullable=False),
        sa.Column("person", sa.String(length=320), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.create_index("ix_shifts_person", ["person"], unique=False)
        batch_op.create_index("ix_shifts_team_start", ["team", "start"], unique=False)

    op.create_table(
        "slack_users",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("tz", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "team_state",
        sa.Column("team", sa.String(length=80), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failing_since", sa.DateTime(), nullable=True),
        sa.Column("outage_announced_since", sa.DateTime(), nullable=True),
        sa.Column("shifts_fetched_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("team"),
    )
    op.create_table(
        "usergroup_syncs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=80), nullable=False),
        sa.Column("usergroup_id", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("result", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("usergroup_syncs", schema=None) as batch_op:
        batch_op.create_index("ix_usergroup_syncs_team_at", ["team", "at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("usergroup_syncs", schema=None) as batch_op:
        batch_op.drop_index("ix_usergroup_syncs_team_at")

    op.drop_table("usergroup_syncs")
    op.drop_table("team_state")
    op.drop_table("slack_users")
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.drop_index("ix_shifts_team_start")
        batch_op.drop_index("ix_shifts_person")

    op.drop_table("shifts")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_slack_user_id"))

    op.drop_table("people")
    with op.batch_alter_table("oncall_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_oncall_snapshots_team_seen")

    op.drop_table("oncall_snapshots")
    op.drop_table("notices")
    op.drop_table("handovers")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index("ix_escalations_user_created")
        batch_op.drop_index("ix_escalations_team_created")

    op.drop_table("escalations")
    op.drop_table("announced_timelines")
