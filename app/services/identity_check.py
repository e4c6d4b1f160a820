"""The day-ahead identity check: warn the channel once about incoming people Slack cannot reach."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from app.chat import SlackCallFailed
from app.domain import Team
from app.model.messages import IdentityWarning, TeamShift
from app.runtime import Runtime
from app.services import handover_plan
from app.services.notice_once import notice_key, say_team_notice
from app.services.person_views import resolved_views

log = logging.getLogger(__name__)

IDENTITY_LEAD = timedelta(hours=24)


def _check_team(runtime: Runtime, team: Team, now: datetime) -> int:
    with runtime.sessions.begin() as session:
        coming = handover_plan.next_after(session, team, now)
    if coming is None or coming.start - now > IDENTITY_LEAD:
        return 0
    moment, incoming = coming.start, list(coming.incoming)
    views = resolved_views(runtime, incoming, now)
    problems = [views[p.lower()] for p in incoming if p.lower() in views and not views[p.lower()].mapped]
    if not problems:
        return 0
    message = IdentityWarning(TeamShift(team.name, team.timezone, moment), tuple(problems), team.language)
    key = notice_key(moment.isoformat(), *(f"{p.pager_id}:{p.status}" for p in problems))
    return int(say_team_notice(runtime, team, "identity", key, message, now) == "posted")


def check_incoming_identities(runtime: Runtime, now: datetime) -> int:
    """24 h before each handover, warn the team channel once about incoming people Slack cannot reach."""
    posted = 0
    for team in runtime.config.teams:
        try:
            posted += _check_team(runtime, team, now)
        except SlackCallFailed as failure:  # Slack lookups failed: the next hourly run tries again
            log.warning("identity check for %s skipped: %s", team.name, failure)
        except Exception:  # one team's failure must not stall the others
            log.exception("identity check for %s failed", team.name)
    return posted
