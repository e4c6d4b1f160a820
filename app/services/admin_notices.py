"""Failures only an admin can fix (usergroup gone, schedule not found, bot out of the channel): said once."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select

from app.chat import SlackCallFailed
from app.domain import Team
from app.model.messages import NeedsAdmin
from app.runtime import Runtime
from app.services import notices
from app.services.roster import TeamRefresh
from app.services.usergroups import SyncResult
from app.store import repo
from app.store.db import reading
from app.store.models import TeamState, UsergroupSync

log = logging.getLogger(__name__)

KIND = "needs_admin"
# Slack's answers that mean the bot cannot post in the team channel, whatever it retries.
CHANNEL_GONE = ("channel_not_found", "not_in_channel", "is_archived")


def channel_problem(runtime: Runtime, team: Team) -> str | None:
    """Why the bot cannot post in the team channel (a sentence), or None when it can (or Slack is down)."""
    try:
        channel = runtime.slack.channel(team.channel)
    except SlackCallFailed as failure:
        return f"cannot post in {team.channel}: {failure}" if failure.code in CHANNEL_GONE else None
    if channel.get("is_archived"):
        return f"channel {team.channel} is archived (is_archived): name a live channel in the teams file"
    if not channel.get("is_member", True):
        return f"the bot is not in channel {team.channel} (not_in_channel): invite it: /invite @oncall-bot"
    return None


def _since(runtime: Runtime, team: str, cause: str) -> str:
    """When the current run of this failure began, so that the next one after a fix is told again."""
    with reading(runtime.sessions) as session:
        if cause == "schedule_not_found":
            state = session.get(TeamState, team)
            since = state.failing_since if state is not None else None
        else:
            ok = select(func.max(UsergroupSync.at)).where(
                UsergroupSync.team == team, UsergroupSync.result != "failed"
            )
            since = session.scalar(ok)
    return since.isoformat() if since is not None else "never"


def _tell(runtime: Runtime, team: Team, cause: str, sentence: str, now: datetime) -> None:
    notice = NeedsAdmin(team.name, sentence, team.language)
    notices.post_once(runtime, team, KIND, f"{cause}|{_since(runtime, team.name, cause)}", notice, now)


def _log_channel_once(runtime: Runtime, team: Team, problem: str | None, now: datetime) -> None:
    # The channel itself cannot be told: the first time is an ERROR line for the admin, later ones are not.
    with runtime.sessions.begin() as session:
        if problem is None:
            repo.release_notice(session, team.name, KIND, "channel")
            return
        first = repo.claim_notice(session, team.name, KIND, "channel", at=now, text=problem)
    if first:
        log.error("team %s: %s; its notices and handovers cannot be posted until then", team.name, problem)


def tell_admin(
    runtime: Runtime,
    refresh: TeamRefresh,
    sync: SyncResult,
    channel: str | None,
    checked: bool,
    now: datetime,
) -> None:
    """Tell the team channel once per occurrence of a failure that needs an admin."""
    team = refresh.team
    if checked:
        _log_channel_once(runtime, team, channel, now)
    if channel is not None:
        return  # nothing can be posted there
    if refresh.cause == "schedule_not_found":
        _tell(runtime, team, "schedule_not_found", f"{refresh.error}: fix 'schedule' in the teams file", now)
    if sync.code == "usergroup_gone":
        _tell(runtime, team, "usergroup_gone", sync.detail, now)
