"""The minute job of shifts: handovers, reminders and acknowledgements when due, and when next.

It runs at start and every minute (on the replica that leads the scheduled jobs) and reads only the
cache; the job then wakes itself at the next moment it returned, so that a shift change is handed over
at its minute, not up to a minute late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from app.domain import Team
from app.runtime import Runtime
from app.services import handover_plan
from app.services.ack_followups import follow_up_acks
from app.services.handover import run_handover
from app.services.reminders import send_reminders
from app.store.db import reading
from app.store.models import Handover

log = logging.getLogger(__name__)

SHIFTS_JOB = "shifts"
EVERY = timedelta(minutes=1)
RETRY_REFUSED = timedelta(minutes=5)  # a handover Slack refused is tried again this much later

Step = Callable[[Runtime, Team, datetime], datetime | None]


def handover_due(runtime: Runtime, team: Team, now: datetime) -> bool:
    """True when the team's latest per-shift handover has not been posted (or given up) yet."""
    if not team.per_shift:
        return False
    with reading(runtime.sessions) as session:
        planned = handover_plan.at_or_before(session, team, now)
        if planned is None:
            return False
        row = session.scalars(
            select(Handover).where(Handover.team == team.name, Handover.shift_start == planned.start)
        ).first()
    if row is None or row.status in ("claimed", "unknown", "unconfirmed"):
        return True  # new, or an attempt to finish (say_once waits while one is in flight)
    return row.status == "failed" and now - row.created_at >= RETRY_REFUSED


def _handovers(runtime: Runtime, team: Team, now: datetime) -> datetime | None:
    """Post the due per-shift handover; the next one's start."""
    if handover_due(runtime, team, now):
        outcome = run_handover(runtime, team, now)
        log.info("%s shift handover: %s %s", team.name, outcome.status, outcome.detail)
    if not team.per_shift:
        return None
    with reading(runtime.sessions) as session:
        upcoming = handover_plan.next_after(session, team, now)
    return upcoming.start if upcoming is not None else None


STEPS: tuple[Step, ...] = (_handovers, send_reminders, follow_up_acks)


def shift_tick(runtime: Runtime, now: datetime) -> datetime | None:
    """Do what is due for every team now; return the earliest moment something is due next (or None)."""
    due: list[datetime] = []
    for team in runtime.config.teams:
        for step in STEPS:
            try:
                moment = step(runtime, team, now)
            except Exception:  # one team's (or one step's) failure must not stall the others
                log.exception("%s: the shift job's %s failed", team.name, step.__name__.strip("_"))
                continue
            if moment is not None:
                due.append(moment)
    return min(due, default=None)
