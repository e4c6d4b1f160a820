"""The cache's tables: typed SQLAlchemy 2 models on ``app.store.base.Base`` (every datetime aware UTC)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base

# Base with every table registered on it: what the schema check and the migrations compare against.
__all__ = [
    "AnnouncedTimeline",
    "AnswerGeneration",
    "Base",
    "Escalation",
    "Handover",
    "HandoverAck",
    "LeaderLease",
    "Notice",
    "OnCallSnapshot",
    "PersonRow",
    "ShiftRow",
    "SlackUser",
    "TeamState",
    "UsergroupSync",
]


class TeamState(Base):
    """Per team: how the last pager refresh went, and what the bot has already said about it."""

    __tablename__ = "team_state"

    team: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[datetime | None]
    # The failing_since of the outage the team channel was told about; cleared once recovery is told.
    outage_announced_since: Mapped[datetime | None]
    shifts_fetched_at: Mapped[datetime | None]


class OnCallSnapshot(Base):
    """Who was on call for a team, from the first fetch that saw this set to the last that confirmed it."""

    __tablename__ = "oncall_snapshots"
    __table_args__ = (Index("ix_oncall_snapshots_team_seen", "team", "first_seen_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(80))
    people: Mapped[list[str]]
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class ShiftRow(Base):
    """One upcoming (or recent) shift from the pager's timeline."""

    __tablename__ = "shifts"
    __table_args__ = (Index("ix_shifts_team_start", "team", "start"), Index("ix_shifts_person", "person"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(80))
    person: Mapped[str] = mapped_column(String(320))
    start: Mapped[datetime]
    end: Mapped[datetime]
    fetched_at: Mapped[datetime]
    layer: Mapped[str] = mapped_column(String(200), default="", server_default="")  # Shift.layer


# `/oncall me` matches the asker's identities on lower(person) (the pagers may keep an email's capitals).
Index("ix_shifts_person_lower", func.lower(ShiftRow.person))


class PersonRow(Base):
    """The Slack account a pager identity maps to, and whether it may be in a usergroup."""

    __tablename__ = "people"

    pager_id: Mapped[str] = mapped_column(String(320), primary_key=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(String(16))  # "config", "slack_id" or "lookup"
    status: Mapped[str] = mapped_column(String(16))  # ok, not_found, deleted, bot, guest
    display_name: Mapped[str | None] = mapped_column(String(200))
    checked_at: Mapped[datetime]


class SlackUser(Base):
    """A Slack user's name, time zone and language, cached from users.info for rendering."""

    __tablename__ = "slack_users"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    tz: Mapped[str | None] = mapped_column(String(64))
    # The profile email lets `/oncall me` find a user's shifts before the roster has mapped them.
    email: Mapped[str | None] = mapped_column(String(320))
    # Who may page: guests (is_restricted / is_ultra_restricted) and bots may not. None: not recorded yet.
    is_guest: Mapped[bool | None]
    is_bot: Mapped[bool | None]
    # Slack's locale ("ja-JP", "en-US"): private answers speak it. "" when Slack gave none; None when the
    # profile was cached before locales were (users.info is asked again).
    locale: Mapped[str | None] = mapped_column(String(16))
    fetched_at: Mapped[datetime]


class UsergroupSync(Base):
    """One usergroup sync: when, the members before and after, and what was done."""

    __tablename__ = "usergroup_syncs"
    __table_args__ = (Index("ix_usergroup_syncs_team_at", "team", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(80))
    usergroup_id: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime]
    before: Mapped[list[str]]
    after: Mapped[list[str]]
    result: Mapped[str] = mapped_column(String(24))  # unchanged, updated, dry_run, skipped_empty, failed
    detail: Mapped[str | None] = mapped_column(Text)


class Notice(Base):
    """A message the bot must say once only: the unique key makes it exactly-once across replicas."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("team", "kind", "key", name="uq_notices_team_kind_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(400))
    # When the current attempt began (claimed) or ended without an answer (unknown); see services/once.py.
    created_at: Mapped[datetime]
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="posted", server_default="posted")
    message_ts: Mapped[str | None] = mapped_column(String(32))


class AnnouncedTimeline(Base):
    """Per team, the shift timeline the channel was told about: shift-change notices diff against it."""

    __tablename__ = "announced_timelines"

    team: Mapped[str] = mapped_column(String(80), primary_key=True)
    shifts: Mapped[list[Any]] = mapped_column(JSON)  # [[person, start ISO, end ISO], ...]
    updated_at: Mapped[datetime]


class Escalation(Base):
    """A mention of the bot that asked for the on-call people; the outbox of its pager alert."""

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("event_id", name="uq_escalations_event_id"),
        Index("ix_escalations_team_created", "team", "created_at"),
        Index("ix_escalations_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    team: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    on_call: Mapped[list[str]]
    priority: Mapped[str] = mapped_column(String(2))
    # tag_only, pending, requested, created, failed, unconfirmed, limited. Final: created (the alert exists),
    # failed (the pager refused it: no alert) and unconfirmed (the pager accepted the request but never said
    # how it went within the deadline: an alert may exist and the on-call people may have been paged).
    status: Mapped[str] = mapped_column(String(16))
    alias: Mapped[str | None] = mapped_column(String(512))
    alert_request_id: Mapped[str | None] = mapped_column(String(64))
    alert_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    # When the work left (a thread post or the page) is due, or a worker's lease ends; None: nothing left.
    next_attempt_at: Mapped[datetime | None]
    # The lease holder's token (a fresh uuid per claim), None when released; writes are fenced on it.
    lease_token: Mapped[str | None] = mapped_column(String(32))
    # When a thread post was sent that is not recorded yet: while it may still land, nobody posts again.
    posting_since: Mapped[datetime | None]
    # When the pager accepted the alert request: the deadline for its confirmation runs from here.
    requested_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    reply_ts: Mapped[str | None] = mapped_column(String(32))
    # The thread message telling how the page ended (its confirmation or failure), once posted.
    outcome_ts: Mapped[str | None] = mapped_column(String(32))
    # Failed chat.postMessage calls in this thread; posting is given up after MAX_ATTEMPTS of them.
    post_attempts: Mapped[int] = mapped_column(default=0)
    permalink: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    # The presses, each recorded once: who pressed Page (credited at the pager), Acknowledge and Resolve.
    # An escalation is open until closed_at is set (Resolve, here or for its alert).
    paged_by: Mapped[str | None] = mapped_column(String(32))
    acked_by: Mapped[str | None] = mapped_column(String(32))
    acked_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None]


class Handover(Base):
    """One handover post per team and shift start: the unique key makes it exactly-once."""

    __tablename__ = "handovers"
    __table_args__ = (UniqueConstraint("team", "shift_start", name="uq_handovers_team_shift_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(80))
    shift_start: Mapped[datetime]
    created_at: Mapped[datetime]
    # claimed, posted, skipped, failed (refused: retried), unknown (read back before retrying); see once.py
    status: Mapped[str] = mapped_column(String(16))
    late: Mapped[bool] = mapped_column(default=False)
    outgoing: Mapped[list[str]]
    incoming: Mapped[list[str]]
    channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class HandoverAck(Base):
    """An incoming person pressed "Got it" on a handover: recorded once per (team, shift start, person)."""

    __tablename__ = "handover_acks"
    __table_args__ = (
        UniqueConstraint("team", "shift_start", "user_id", name="uq_handover_acks_team_start_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(80))
    shift_start: Mapped[datetime]
    user_id: Mapped[str] = mapped_column(String(32))
    acked_at: Mapped[datetime]


class LeaderLease(Base):
    """Which replica runs the scheduled jobs now: a short lease that its holder's heartbeat renews."""

    __tablename__ = "leader_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)  # "jobs": one leader for every job
    # The holder's name (host/pid/random, for logs and operators) and its claim's token (writes fence on it).
    holder: Mapped[str | None] = mapped_column(String(200))
    lease_token: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime | None]
    since: Mapped[datetime | None]  # when the holder took it


class AnswerGeneration(Base):
    """A counter the database's triggers bump with every change to what /oncall shows (migration 0008)."""

    __tablename__ = "answer_generations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the triggers find a counter by it
    scope: Mapped[str] = mapped_column(String(20), unique=True)  # "roster" or "profiles"
    value: Mapped[int] = mapped_column(Integer)
