"""Roster refresh: ask the pager who is on call (and the coming shifts) and store it in the cache.

A cycle refreshes every team in three steps: one read of every team's state and cached on-call set
(``plan``), one pager call per team with no transaction open (``ask``), then one short write
transaction that compares the answers with the latest snapshots and writes only what changed
(``store``). ``refresh_team`` is the same path for one team.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.domain import Shift, Team
from app.log_json import log_context
from app.providers import ProviderError, ScheduleNotFound
from app.runtime import Runtime
from app.services.people import same_people
from app.services.writes import write_retrying
from app.store import cycle_rows
from app.store.cycle_rows import StateRow
from app.store.db import reading

log = logging.getLogger(__name__)

# The timeline is re-read hourly; in between, one cheap on-calls request per cycle confirms who is on call.
TIMELINE_MAX_AGE = timedelta(hours=1)
HISTORY = timedelta(days=7)
HORIZON = timedelta(days=14)

Map = Callable[..., Iterable[Any]]  # the cycle's pool.map (or the builtin map)


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Plan:
    """What the cache says before the pager is asked: each team's state and who its timeline has on now."""

    states: dict[str, StateRow]
    predicted: dict[str, tuple[str, ...]]  # only teams with a cached timeline

    def timeline_due(self, team: str, now: datetime) -> bool:
        """Whether to re-read the team's timeline now rather than ask who is on call."""
        state = self.states.get(team)
        fetched = state.shifts_fetched_at if state is not None else None
        return fetched is None or fetched <= now - TIMELINE_MAX_AGE


@dataclass(frozen=True, slots=True)
class Answer:
    """One team's pager answer: who is on call (and the timeline when it was read), or why not."""

    team: Team
    people: tuple[str, ...] = ()
    shifts: list[Shift] | None = None
    error: str | None = None
    cause: str | None = None


def on_call_from(shifts: list[Shift], at: datetime) -> tuple[str, ...]:
    """Everyone whose shift covers ``at``, sorted, without repeats."""
    return tuple(sorted({s.person.lower() for s in shifts if s.covers(at)}))


def plan(runtime: Runtime, teams: Sequence[Team], now: datetime) -> Plan:
    """Every team's refresh state and cached on-call set: one read-only transaction, two statements."""
    names = [team.name for team in teams]
    with reading(runtime.sessions) as session:
        states = cycle_rows.states(session, names)
        cached = [n for n in names if n in states and states[n].shifts_fetched_at is not None]
        shifts = cycle_rows.shifts_at(session, cached, now, now + timedelta(seconds=1)) if cached else {}
    return Plan(states, {name: on_call_from(shifts.get(name, []), now) for name in cached})


def ask(runtime: Runtime, team: Team, now: datetime, timeline_due: bool) -> Answer:
    """Ask the team's pager once: the timeline when due (hourly), who is on call otherwise."""
    provider = runtime.providers.for_team(team)
    try:
        if timeline_due:
            shifts = provider.shifts(team.schedule, now - HISTORY, now + HORIZON)
            return Answer(team, on_call_from(shifts, now), shifts)
        people = tuple(sorted({p.lower() for p in provider.on_call(team.schedule, now).people}))
    except ProviderError as error:
        log.warning("team %s: %s", team.name, error)
        cause = "schedule_not_found" if isinstance(error, ScheduleNotFound) else None
        return Answer(team, error=str(error), cause=cause)
    return Answer(team, people)


@dataclass
class _Writes:
    """What one cycle's answers change, gathered before the one transaction that writes them."""

    touched: list[int] = field(default_factory=list)  # snapshots confirmed now
    renamed: list[dict[str, Any]] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)
    ok: list[str] = field(default_factory=list)  # teams answered (keeping their timeline's time)
    fetched: list[str] = field(default_factory=list)  # teams whose timeline was stored now
    unfetched: list[str] = field(default_factory=list)  # teams whose timeline must be read again
    failed: list[dict[str, Any]] = field(default_factory=list)


def _compare(
    session: Session, runtime: Runtime, answers: Sequence[Answer], now: datetime, writes: _Writes
) -> set[str]:
    """Gather the snapshot writes of the answers; return the teams whose on-call set changed."""
    latest = cycle_rows.snapshots(session, [a.team.name for a in answers])
    changed: set[str] = set()
    for answer in answers:
        name, people, snapshot = answer.team.name, answer.people, latest.get(answer.team.name)
        seen = max(snapshot.last_seen_at, now) if snapshot is not None else now
        if snapshot is None or set(snapshot.people) != set(people):
            # Different pager identities may be the same people (a team that moved pagers): the snapshot
            # takes the new identities but keeps its start, so the shift and all said once for it stay.
            if snapshot is not None and same_people(session, runtime.config.people, snapshot.people, people):
                writes.renamed.append({"sid": snapshot.id, "renamed": list(people), "seen": seen})
                continue
            writes.added.append(
                {"team": name, "people": list(people), "first_seen_at": now, "last_seen_at": now}
            )
            changed.add(name)
        elif seen != snapshot.last_seen_at:
            writes.touched.append(snapshot.id)  # seen is now: later than the last confirmation
    return changed


def store(
    runtime: Runtime, plan: Plan, answers: Sequence[Answer], now: datetime, *, dry_run: bool = False
) -> list[TeamRefresh]:
    """Store every answer with its time in one short transaction; only what changed is written.

    A dry run stores who is on call but keeps the cached timeline, so that the shift changes it saw are
    still announced by the next real cycle.
    """
    good = [a for a in answers if a.error is None]
    read = {a.team.name: a.shifts for a in good if a.shifts is not None and not dry_run}

    def work(session: Session) -> tuple[set[str], dict[str, list[Shift]]]:
        # The snapshots are compared under the write lock (not as read by plan()): another writer (an
        # `oncall-bot sync`, a leader handing over mid-cycle) cannot make this one add a second snapshot.
        cycle_rows.ensure_states(session, [a.team.name for a in answers if a.team.name not in plan.states])
        writes = _Writes()
        changed = _compare(session, runtime, good, now, writes)
        for answer in good:
            name, predicted = answer.team.name, plan.predicted.get(answer.team.name)
            if name in read:
                writes.fetched.append(name)
            elif predicted is not None and predicted != answer.people:
                writes.unfetched.append(name)  # an override or swap the cached timeline does not know yet
            else:
                writes.ok.append(name)
        writes.failed = [
            {"t": a.team.name, "at": now, "error": a.error} for a in answers if a.error is not None
        ]
        before = cycle_rows.replace_timelines(session, read, now)
        cycle_rows.write_all(session, cycle_rows.TOUCH_SNAPSHOTS, writes.touched, at=now)
        cycle_rows.write_all(session, cycle_rows.STATES_OK, writes.ok, at=now)
        cycle_rows.write_all(session, cycle_rows.STATES_OK_FETCHED, writes.fetched, at=now, fetched=now)
        cycle_rows.write_all(session, cycle_rows.STATES_OK_FETCHED, writes.unfetched, at=now, fetched=None)
        for statement, rows in (
            (cycle_rows.RENAME_SNAPSHOTS, writes.renamed),
            (cycle_rows.INSERT_SNAPSHOTS, writes.added),
            (cycle_rows.STATES_FAILED, writes.failed),
        ):
            cycle_rows.write(session, statement, rows)
        return changed, before

    changed, before = write_retrying(runtime, work, "storing the pager's answers")
    refreshes = []
    for answer in answers:
        name = answer.team.name
        if answer.error is not None:
            refreshes.append(TeamRefresh(answer.team, ok=False, error=answer.error, cause=answer.cause))
            continue
        if name in changed:
            with log_context(team=name):
                log.info("team %s: on call now %s", name, ", ".join(answer.people) or "nobody")
        refreshes.append(
            TeamRefresh(
                team=answer.team,
                ok=True,
                people=answer.people,
                changed=name in changed,
                timeline_read=name in read,
                shifts_before=before.get(name, []),
                shifts_after=answer.shifts or [],
            )
        )
    return refreshes


def refresh_teams(
    runtime: Runtime, teams: Sequence[Team], now: datetime, *, dry_run: bool = False, map: Map = map
) -> tuple[Plan, list[TeamRefresh]]:
    """Refresh these teams: one read, one pager call each (spread by ``map``), one write."""
    known = plan(runtime, teams, now)

    def asked(team: Team) -> Answer:
        with log_context(team=team.name):
            try:
                return ask(runtime, team, now, known.timeline_due(team.name, now))
            except Exception as error:  # a bug in one pager's client fails that team only
                log.exception("team %s: refresh failed unexpectedly", team.name)
                return Answer(team, error=f"unexpected error: {error}")

    answers = list(map(asked, teams))
    return known, store(runtime, known, answers, now, dry_run=dry_run)


def refresh_team(runtime: Runtime, team: Team, now: datetime, *, dry_run: bool = False) -> TeamRefresh:
    """Ask the pager once (timeline hourly, on-calls otherwise) and store the answer with its time."""
    return refresh_teams(runtime, [team], now, dry_run=dry_run)[1][0]
