"""Messages the bot says once only: a unique database key decides who says them, across replicas."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update

from app.domain import Team
from app.runtime import Runtime
from app.services.freshness import state_is_stale
from app.slack import notice_text
from app.slack.blocks import section
from app.slack.post import try_post
from app.store import repo
from app.store.models import TeamState

log = logging.getLogger(__name__)


def post_to_team(runtime: Runtime, team: Team, text: str) -> bool:
    """Post ``text`` in the team channel; False (logged) when Slack refuses or cannot be reached."""
    return try_post(runtime.slack, team.channel, text=text, blocks=[section(text)]) is not None


def post_once(runtime: Runtime, team: Team, kind: str, key: str, text: str, now: datetime) -> bool:
    """Post ``text`` unless (team, kind, key) was already said; True when this call posted it."""
    with runtime.sessions.begin() as session:
        if not repo.claim_notice(session, team.name, kind, key, at=now, text=text):
            return False
    if post_to_team(runtime, team, text):
        return True
    with runtime.sessions.begin() as session:
        repo.release_notice(session, team.name, kind, key)  # let a later cycle try again
    return False


def announce_outage(runtime: Runtime, team: Team, now: datetime) -> bool:
    """Tell the team channel, once per outage, that the pager stopped answering and the data is stale."""
    with runtime.sessions.begin() as session:
        if not state_is_stale(session.get(TeamState, team.name), now, runtime.config.refresh_minutes):
            return False  # a blip (or not yet old enough): the roster logged it, the channel hears nothing
        claimed = session.execute(
            update(TeamState)
            .where(
                TeamState.team == team.name,
                TeamState.failing_since.is_not(None),
                TeamState.outage_announced_since.is_(None),
            )
            .values(outage_announced_since=TeamState.failing_since)
        )
        if not getattr(claimed, "rowcount", 0):
            return False
        state = repo.team_state(session, team.name)
        since, error, data_from = state.failing_since, state.last_error, state.last_success_at
    assert since is not None
    text = notice_text.pager_unreachable(
        team.name, team.usergroup, error or "no answer", since, data_from, team.timezone
    )
    if post_to_team(runtime, team, text):
        return True
    with runtime.sessions.begin() as session:  # unsaid: let the next failing cycle try again
        session.execute(
            update(TeamState).where(TeamState.team == team.name).values(outage_announced_since=None)
        )
    return False


def announce_recovery(runtime: Runtime, team: Team, now: datetime) -> bool:
    """Tell the team channel, once, that the pager answers again after an announced outage."""
    with runtime.sessions.begin() as session:
        since = repo.team_state(session, team.name).outage_announced_since
        if since is None:
            return False
        cleared = session.execute(
            update(TeamState)
            .where(
                TeamState.team == team.name,
                TeamState.failing_since.is_(None),
                TeamState.outage_announced_since == since,
            )
            .values(outage_announced_since=None)
        )
        if not getattr(cleared, "rowcount", 0):
            return False
    return post_to_team(runtime, team, notice_text.pager_recovered(team.name, since, now, team.timezone))
