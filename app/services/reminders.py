"""The reminder before a shift: a DM to each incoming person ``remind_before`` ahead, once per shift.

Evaluated at start and every minute by the shift job. A reminder whose moment has passed while its
shift has not begun yet (the bot was down, or the shift was just created) is sent at once; once the
shift has begun the handover DM takes over, so no reminder is sent late. Each DM has its own once-key
(shift start and person), in the notices table: never twice, across restarts and replicas.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select

from app.domain import Team
from app.model.messages import ShiftReminder, TeamShift
from app.model.person import Person
from app.runtime import Runtime
from app.services import handover_plan
from app.services.notices import say_notice
from app.services.person_views import person_views
from app.services.roster import HORIZON
from app.services.slack_users import language_for
from app.store.db import reading
from app.store.models import Notice

log = logging.getLogger(__name__)

KIND = "shift_reminder"


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder to ``person`` at ``at`` for the shift at ``start`` (sent only when they are mapped)."""

    team: str
    person: Person
    at: datetime
    start: datetime
    end: datetime | None
    sent: bool = False

    @property
    def to(self) -> str | None:
        """The Slack user the DM goes to; None when the person is not mapped (it cannot be sent)."""
        return self.person.slack_user_id if self.person.mapped else None

    @property
    def key(self) -> str:
        """The once-key of this DM."""
        return f"{self.start.isoformat()}|{self.to}"


def reminders(runtime: Runtime, team: Team, now: datetime, within: timedelta = HORIZON) -> list[Reminder]:
    """The team's reminders for shifts not begun yet that start within ``within``, sent or not, in order."""
    if team.remind_before is None:
        return []
    with reading(runtime.sessions) as session:
        coming = handover_plan.shift_starts(session, team, now, within)
        if not coming:
            return []
        views = person_views(session, runtime.config, [p for t in coming for p in t.arriving])
        keys = set(
            session.scalars(
                select(Notice.key).where(
                    Notice.team == team.name, Notice.kind == KIND, Notice.status == "posted"
                )
            )
        )
    found = []
    for turn in coming:
        for pager_id in turn.arriving:
            person = replace(views[pager_id.lower()], pager_id=pager_id)
            at = turn.start - team.remind_before
            found.append(Reminder(team.name, person, at, turn.start, turn.end))
    return [replace(r, sent=r.key in keys) for r in sorted(found, key=lambda r: (r.at, r.person.pager_id))]


def _next_moment(runtime: Runtime, team: Team, now: datetime, remind_before: timedelta) -> datetime | None:
    """When the next reminder after those due now is due: ``remind_before`` ahead of the next shift start."""
    with reading(runtime.sessions) as session:
        later = handover_plan.shift_starts(session, team, now + remind_before, HORIZON - remind_before)
    turn = next((t for t in later if t.arriving), None)
    return turn.start - remind_before if turn is not None else None


def send_reminders(runtime: Runtime, team: Team, now: datetime) -> datetime | None:
    """DM every reminder that is due and not sent yet; return when the next one is due (None: none)."""
    if team.remind_before is None:
        return None
    # Due now are the shifts that start within remind_before; the minute job asks every team each minute,
    # so only those are read and resolved (the two weeks ahead were ~8 ms a team: bench/README.md).
    for reminder in reminders(runtime, team, now, team.remind_before):
        to = reminder.to
        if reminder.sent or to is None:
            continue
        # A direct message speaks its reader's Slack language (asked for when not cached yet).
        language = language_for(runtime, to, team.language)
        message = ShiftReminder(
            TeamShift(team.name, team.timezone, reminder.start), reminder.end, now, language
        )
        outcome = say_notice(runtime, team.name, to, KIND, reminder.key, message, now)
        if outcome.result == "posted":
            log.info("%s: reminded %s of the shift at %s", team.name, to, reminder.start)
        elif not outcome.said and outcome.result != "in_flight":
            log.warning("%s: reminder to %s not sent (will retry): %s", team.name, to, outcome.detail)
    return _next_moment(runtime, team, now, team.remind_before)
