"""Roster refresh: ask the pager who is on call (and the coming shifts) and store it in the cache."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain import Shift, Team
from app.providers import ProviderError, ScheduleNotFound
from app.runtime import Runtime
from app.services.people import same_people
from app.store import repo

log = logging.getLogger(__name__)

# The timeline is re-read hourly; in between, one cheap on-calls request per cycle confirms who is on call.
TIMELINE_MAX_AGE = timedelta(hours=1)
HISTORY = timedelta(days=7)
HORIZON = timedelta(days=14)


@dataclass(frozen=True)
class TeamRefresh:
    """How one team's refresh went: who is on call now per the cache, and what changed."""

    team: Team
    ok: bool
    people: tuple[str, ...] = ()
    changed: bool = False
    error: str | None = None
    cause: str | None = None  # "schedule_not_found" when an admin must fix the teams file
    timeline_read: bool = False
    shifts_before: list[Shift] = field(default_factory=list)
    shifts_after: list[Shift] = field(default_factory=list)


def on_call_from(shifts: list[Shift], at: datetime) -> tuple[str, ...]:
    """Everyone whose shift covers ``at``, sorted, without repeats."""
    return tuple(sorted({s.person.lower() for s in shifts if s.covers(at)}))


def _timeline_due(runtime: Runtime, team: Team, now: datetime) -> tuple[bool, tuple[str, ...] | None]:
    """Whether to re-read the timeline now, and who the cached timeline says is on call (None: no cache)."""
    with runtime.sessions.begin() as session:
        state = repo.team_state(session, team.name)
        due = state.shifts_fetched_at is None or state.shifts_fetched_at <= now - TIMELINE_MAX_AGE
        if state.shifts_fetched_at is None:
            return due, None
        cached = repo.shifts_between(session, team.name, now, now + timedelta(seconds=1))
        return due, on_call_from(cached, now)


def _record_failure(runtime: Runtime, team: Team, now: datetime, error: ProviderError) -> None:
    with runtime.sessions.begin() as session:
        state = repo.team_state(session, team.name)
        state.last_attempt_at = now
        state.last_error = str(error)
        state.failing_since = state.failing_since or now


def refresh_team(runtime: Runtime, team: Team, now: datetime, *, dry_run: bool = False) -> TeamRefresh:
    """Ask the pager once (timeline hourly, on-calls otherwise) and store the answer with its time.

    A dry run stores who is on call but keeps the cached timeline, so that the shift changes it saw are
    still announced by the next real cycle.
    """
    timeline_due, predicted = _timeline_due(runtime, team, now)
    shifts: list[Shift] | None = None
    provider = runtime.providers.for_team(team)
    try:
        if timeline_due:
            shifts = provider.shifts(team.schedule, now - HISTORY, now + HORIZON)
            people = on_call_from(shifts, now)
        else:
            people = tuple(sorted({p.lower() for p in provider.on_call(team.schedule, now).people}))
    except ProviderError as error:
        log.warning("team %s: %s", team.name, error)
        _record_failure(runtime, team, now, error)
        cause = "schedule_not_found" if isinstance(error, ScheduleNotFound) else None
        return TeamRefresh(team=team, ok=False, error=str(error), cause=cause)

    before: list[Shift] = []
    with runtime.sessions.begin() as session:
        config_people = runtime.config.people
        changed = repo.record_on_call(
            session,
            team.name,
            people,
            now,
            same=lambda old, new: same_people(session, config_people, old, new),
        )
        state = repo.team_state(session, team.name)
        state.last_attempt_at = state.last_success_at = now
        state.last_error = None
        state.failing_since = None
        if shifts is not None and not dry_run:
            before = repo.replace_shifts(session, team.name, shifts, now)
            state.shifts_fetched_at = now
        elif predicted is not None and predicted != people:
            # An override or swap the cached timeline does not know yet: re-read it next cycle.
            state.shifts_fetched_at = None
    if changed:
        log.info("team %s: on call now %s", team.name, ", ".join(people) or "nobody")
    return TeamRefresh(
        team=team,
        ok=True,
        people=people,
        changed=changed,
        timeline_read=shifts is not None and not dry_run,
        shifts_before=before,
        shifts_after=shifts or [],
    )
