"""What follows an unconfirmed handover: one reminder DM, then, once, the team channel.

Not confirmed within ``ack_within`` of the shift's start: each incoming person who has not pressed
"Got it" gets one reminder DM (with the button again). Still not confirmed ``ack_within`` after that
reminder: the channel hears it, once, and the outgoing people are asked to stay reachable. Only the
team's current handover is followed; each message has its own once-key in the notices table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import Team
from app.model.buttons import got_it_value
from app.model.messages import AckMissing, AckReminder, TeamShift
from app.model.person import Person
from app.runtime import Runtime
from app.services import handover_plan
from app.services.handover_acks import acked_by_in, handed_to_in
from app.services.notice_once import say_team_notice
from app.services.notices import say_notice
from app.services.person_views import person_views
from app.services.slack_users import language_for
from app.store.db import reading
from app.store.models import Handover, Notice

log = logging.getLogger(__name__)

REMINDER_KIND = "ack_reminder"
CHANNEL_KIND = "ack_missing"


@dataclass(frozen=True, slots=True)
class Waiting:
    """An incoming person who has not confirmed: their reminder is due at ``remind_at``."""

    user_id: str
    remind_at: datetime
    reminded_at: datetime | None  # when the reminder went out, None before


@dataclass(frozen=True, slots=True)
class PendingAck:
    """The team's current handover, not confirmed by everyone it was handed to."""

    team: str
    start: datetime
    waiting: tuple[Waiting, ...]
    channel_at: datetime  # when the channel hears it
    channel_said: bool
    outgoing: tuple[str, ...]  # pager identities


def _notices(session: Session, team: str, kind: str, prefix: str) -> dict[str, datetime]:
    """key → when, for the team's posted notices of ``kind`` whose key starts with ``prefix``."""
    rows = session.execute(
        select(Notice.key, Notice.created_at).where(
            Notice.team == team,
            Notice.kind == kind,
            Notice.status == "posted",
            Notice.key.startswith(prefix, autoescape=True),
        )
    )
    return {str(key): at for key, at in rows}


def pending_ack(runtime: Runtime, team: Team, now: datetime) -> PendingAck | None:
    """The current handover of ``team`` while someone it was handed to has not confirmed it."""
    within = team.ack_within
    if within is None:
        return None
    # One reading transaction for all of it: the minute job asks every team each minute.
    with reading(runtime.sessions) as session:
        planned = handover_plan.at_or_before(session, team, now)
        if planned is None:
            return None
        start = planned.start
        row = session.scalars(
            select(Handover).where(Handover.team == team.name, Handover.shift_start == start)
        ).first()
        if row is None or row.status != "posted":
            return None
        done = set(acked_by_in(session, team.name, start))
        waiting_ids = [user for user in handed_to_in(session, team.name, start) if user not in done]
        if not waiting_ids:
            return None
        reminded = _notices(session, team.name, REMINDER_KIND, f"{start.isoformat()}|")
        said = bool(_notices(session, team.name, CHANNEL_KIND, start.isoformat()))
        outgoing = tuple(row.outgoing)
    waiting = tuple(
        Waiting(user, start + within, reminded.get(f"{start.isoformat()}|{user}")) for user in waiting_ids
    )
    # The channel hears it ``ack_within`` after the reminders (not before twice that after the start).
    channel_at = max([start + 2 * within, *(w.reminded_at + within for w in waiting if w.reminded_at)])
    return PendingAck(team.name, start, waiting, channel_at, said, outgoing)


def _remind(runtime: Runtime, team: Team, pending: PendingAck, person: Waiting, now: datetime) -> None:
    value, language = (
        got_it_value(team.name, pending.start),
        language_for(runtime, person.user_id, team.language),
    )
    message = AckReminder(TeamShift(team.name, team.timezone, pending.start), value, language)
    key = f"{pending.start.isoformat()}|{person.user_id}"
    outcome = say_notice(runtime, team.name, person.user_id, REMINDER_KIND, key, message, now)
    if not outcome.said and outcome.result != "in_flight":
        who, why = person.user_id, outcome.detail
        log.warning("%s: the Got it reminder to %s failed (will retry): %s", team.name, who, why)


def _tell_channel(runtime: Runtime, team: Team, pending: PendingAck, now: datetime) -> None:
    with reading(runtime.sessions) as session:
        views = person_views(session, runtime.config, pending.outgoing)
    waiting = tuple(Person(w.user_id, w.user_id, status="ok") for w in pending.waiting)
    outgoing = tuple(views[p.lower()] for p in pending.outgoing)
    message = AckMissing(TeamShift(team.name, team.timezone, pending.start), waiting, outgoing, team.language)
    say_team_notice(runtime, team, CHANNEL_KIND, pending.start.isoformat(), message, now)


def follow_up_acks(runtime: Runtime, team: Team, now: datetime) -> datetime | None:
    """Send what is due for the team's unconfirmed handover; return when the next step is due."""
    pending = pending_ack(runtime, team, now)
    if pending is None:
        return None
    due = [w for w in pending.waiting if w.reminded_at is None and w.remind_at <= now]
    for person in due:
        _remind(runtime, team, pending, person, now)
    if due:  # the channel's moment counts from these reminders
        pending = pending_ack(runtime, team, now)
        if pending is None:
            return None
    if not pending.channel_said and pending.channel_at <= now:
        _tell_channel(runtime, team, pending, now)
        return None
    later = [w.remind_at for w in pending.waiting if w.reminded_at is None and w.remind_at > now]
    return min([*later, *([] if pending.channel_said else [pending.channel_at])], default=None)
