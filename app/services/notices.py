"""Messages the bot says once only: a unique database key decides who says them, across replicas."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update

from app.chat import Key
from app.domain import Team
from app.model.messages import Message, PagerRecovered, PagerUnreachable
from app.runtime import Runtime
from app.services.freshness import state_is_stale
from app.services.notice_ledger import NoticeLedger
from app.services.once import Outcome, say_once
from app.store import repo
from app.store.models import TeamState

log = logging.getLogger(__name__)

EVENT_TYPE = "oncall_notice"  # the metadata event type of every once-only notice


def say_notice(
    runtime: Runtime,
    team: str,
    channel: str,
    kind: str,
    key: str,
    message: Message,
    now: datetime,
    *,
    thread_ts: str | None = None,
) -> Outcome:
    """Post ``message`` in ``channel`` (or its thread) exactly once per (team, kind, key)."""
    keyed = Key(EVENT_TYPE, f"{team}|{kind}|{key}")
    return say_once(
        runtime,
        NoticeLedger(team, kind, key, runtime.slack.fallback_text(message)),
        lambda: runtime.slack.post_once(channel, keyed, message, thread_ts=thread_ts),
        lambda oldest: runtime.slack.find_once(channel, keyed, oldest=oldest, thread_ts=thread_ts),
        now,
        what=f"the {kind} notice for {team}",
    )


def _say(runtime: Runtime, team: Team, kind: str, key: str, message: Message, now: datetime) -> Outcome:
    return say_notice(runtime, team.name, team.channel, kind, key, message, now)


def post_once(runtime: Runtime, team: Team, kind: str, key: str, message: Message, now: datetime) -> bool:
    """Post ``message`` unless (team, kind, key) was already said; True when this call posted it."""
    return _say(runtime, team, kind, key, message, now).result == "posted"


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
    notice = PagerUnreachable(
        team.name, team.usergroup, error or "no answer", since, data_from, team.timezone, team.language
    )
    if _say(runtime, team, "pager_unreachable", since.isoformat(), notice, now).said:
        return True
    with runtime.sessions.begin() as session:  # unsaid (or unsure): the next failing cycle tries again
        session.execute(
            update(TeamState).where(TeamState.team == team.name).values(outage_announced_since=None)
        )
    return False


def announce_recovery(runtime: Runtime, team: Team, now: datetime) -> bool:
    """Tell the team channel, once, that the pager answers again after an announced outage.

    The outage stays marked announced until the recovery is said: a refused post is tried again next cycle.
    """
    with runtime.sessions.begin() as session:
        state = repo.team_state(session, team.name)
        since = state.outage_announced_since
        if since is None or state.failing_since is not None:
            return False
    notice = PagerRecovered(team.name, since, now, team.timezone, team.language)
    outcome = _say(runtime, team, "pager_recovered", since.isoformat(), notice, now)
    if outcome.said:
        with runtime.sessions.begin() as session:
            session.execute(
                update(TeamState)
                .where(TeamState.team == team.name, TeamState.outage_announced_since == since)
                .values(outage_announced_since=None)
            )
    return outcome.result == "posted"
