"""The reminder before a shift: a DM to each incoming person ``remind_before`` ahead, once per shift.

Evaluated at start and every minute by the shift job. A reminder whose moment has passed while its
shift has not begun yet (the bot was down, or the shift was just created) is sent at once; once the
shift has begun the handover DM takes over, so no reminder is sent late. Each DM has its own once-key
(shift start and person), in the notices table: never twice, across restarts and replicas.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.domain import Team
from app.model.messages import ShiftReminder
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


@dataclass(frozen=True)
class Reminder:
    """One reminder: to ``slack_id`` (None: unmapped, cannot be sent) at ``at`` for the shift at ``start``."""

    team: str
    pager_id: str
    slack_id: str | None
    at: datetime
    start: datetime
    end: datetime | None
    sent: bool = False

    @property
    def key(self) -> str:
        """The once-key of this DM."""
        return f"{self.start.isoformat()}|{self.slack_id}"


def reminders(runtime: Runtime, team: Team, now: datetime) -> list[Reminder]:
    """The team's reminders for shifts not begun yet, sent or not, in order of their moment."""
    if team.remind_before is None:
        return []
    with reading(runtime.sessions) as session:
        coming = handover_plan.shift_starts(session, team, now, HORIZON)
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
            view = views[pager_id.lower()]
            slack_id = view.slack_id if view.mapped else None
            at = turn.start - team.remind_before
            found.append(Reminder(team.name, pager_id, slack_id, at, turn.start, turn.end))
    return [
        Reminder(r.team, r.pager_id, r.slack_id, r.at, r.start, r.end, r.key in keys)
        for r in sorted(found, key=lambda r: (r.at, r.pager_id))
    ]


def send_reminders(runtime: Runtime, team: Team, now: datetime) -> datetime | None:
    """DM every reminder that is due and not sent yet; return when the next one is due (None: none)."""
    upcoming = reminders(runtime, team, now)
    for reminder in upcoming:
        if reminder.at > now or reminder.sent or reminder.slack_id is None:
            continue
        # A direct message speaks its reader's Slack language (asked for when not cached yet).
        language = language_for(runtime, reminder.slack_id, team.language)
        message = ShiftReminder(team.name, team.timezone, reminder.start, reminder.end, now, language)
        outcome = say_notice(runtime, team.name, reminder.slack_id, KIND, reminder.key, message, now)
        if outcome.result == "posted":
            log.info("%s: reminded %s of the shift at %s", team.name, reminder.slack_id, reminder.start)
        elif not outcome.said and outcome.result != "in_flight":
            log.warning(
                "%s: reminder to %s not sent (will retry): %s", team.name, reminder.slack_id, outcome.detail
            )
    later = [r.at for r in upcoming if r.at > now and r.slack_id is not None]
    return min(later, default=None)
