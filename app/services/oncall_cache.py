"""Batched reads of the roster cache for /oncall and the App Home: a few queries however many teams.

Also the pure timeline maths they need (who is on at an instant, the next change, merged shifts).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import Shift, known_slack_id
from app.model.oncall import Freshness, Person, ShiftView
from app.oncall_config import OncallConfig
from app.services.freshness import state_is_stale
from app.store.models import OnCallSnapshot, PersonRow, ShiftRow, SlackUser, TeamState, UsergroupSync

# The next handover is usually hours or days away: reading six hours of every team's timeline first, and
# the rest only for teams whose change lies further out, keeps a 50-team answer to a few hundred rows.
FIRST_LOOK = timedelta(hours=6)
Change = tuple[datetime, frozenset[str]] | None


@dataclass(frozen=True)
class Snapshot:
    """The latest on-call set the pager gave for a team, and when it last confirmed it."""

    people: tuple[str, ...]
    seen_at: datetime


def people_at(shifts: Iterable[Shift], at: datetime) -> frozenset[str]:
    """The identities whose shift covers ``at``."""
    return frozenset(s.person for s in shifts if s.covers(at))


def next_change(shifts: Sequence[Shift], now: datetime, horizon: datetime) -> Change:
    """The first instant in ``(now, horizon)`` when the on-call set changes, and the new set.

    ``shifts`` must hold every cached shift that starts before ``horizon`` and ends after ``now``.
    """
    current = people_at(shifts, now)
    for boundary in sorted({s.start for s in shifts} | {s.end for s in shifts}):
        if now < boundary < horizon and (incoming := people_at(shifts, boundary)) != current:
            return boundary, incoming
    return None


def merged(team: str, shifts: Iterable[Shift], people: dict[str, Person]) -> list[ShiftView]:
    """Shifts as views, with back-to-back pieces of the same person joined (pagers split long shifts)."""
    views: list[ShiftView] = []
    open_by_person: dict[str, int] = {}
    for shift in sorted(shifts, key=lambda s: (s.start, s.person)):
        index = open_by_person.get(shift.person)
        if index is not None and views[index].end >= shift.start:
            view = views[index]
            views[index] = ShiftView(team, view.person, view.start, max(view.end, shift.end))
            continue
        open_by_person[shift.person] = len(views)
        views.append(ShiftView(team, people.get(shift.person, Person(shift.person)), shift.start, shift.end))
    return sorted(views, key=lambda v: (v.start, v.person.pager_id))


class CacheReader:
    """Batched reads for one answer: one query per kind of row, whatever the number of teams."""

    def __init__(self, session: Session, config: OncallConfig, now: datetime) -> None:
        self.session, self.config, self.now = session, config, now
        self._states: dict[str, TeamState] | None = None
        self._timeline_read: dict[str, datetime] = {}
        self._fetched: dict[str, datetime] = {}
        self.first_look: dict[str, list[Shift]] = {}  # what handovers() read from now on, per team

    def states(self) -> dict[str, TeamState]:
        """TeamState rows by team (missing teams were never refreshed), with when each timeline was read."""
        if self._states is None:
            # Every cached shift of a team carries the same fetched_at: one index lookup per team finds it,
            # even while the roster has cleared shifts_fetched_at to force a re-read.
            one = (
                select(ShiftRow.fetched_at).where(ShiftRow.team == TeamState.team).limit(1).scalar_subquery()
            )
            rows = self.session.execute(select(TeamState, one)).all()
            self._states = {state.team: state for state, _ in rows}
            self._timeline_read = {state.team: fetched for state, fetched in rows if fetched is not None}
        return self._states

    def _latest(self, model: type[OnCallSnapshot | UsergroupSync], when: Any, teams: Sequence[str]) -> Any:
        """Ids of the newest row (by ``when``, then id) per team of a history table."""
        # One index probe per team ((team, when) is indexed): the cost stays flat however much history
        # the table holds, where ranking every row of the teams grew with it (bench/soak.py). Every team
        # with history has a TeamState row: its first refresh made it, before any snapshot or sync.
        newest = (
            select(model.id)
            .where(model.team == TeamState.team)
            .order_by(when.desc(), model.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        return select(newest).where(TeamState.team.in_(teams))

    def snapshots(self, teams: Sequence[str]) -> dict[str, Snapshot]:
        """The latest on-call set per team."""
        latest = self._latest(OnCallSnapshot, OnCallSnapshot.first_seen_at, teams)
        query = select(OnCallSnapshot.team, OnCallSnapshot.people, OnCallSnapshot.last_seen_at)
        rows = self.session.execute(query.where(OnCallSnapshot.id.in_(latest)))
        return {team: Snapshot(tuple(p.lower() for p in people), seen) for team, people, seen in rows}

    def latest_syncs(self, teams: Sequence[str]) -> dict[str, UsergroupSync]:
        """The latest usergroup sync per team."""
        latest = self._latest(UsergroupSync, UsergroupSync.at, teams)
        return {
            row.team: row
            for row in self.session.scalars(select(UsergroupSync).where(UsergroupSync.id.in_(latest)))
        }

    def timelines(
        self, teams: Sequence[str], end: datetime | None = None, since: datetime | None = None
    ) -> dict[str, list[Shift]]:
        """Cached shifts per team that end after ``since`` (default now) and start before ``end``."""
        query = select(
            ShiftRow.team, ShiftRow.person, ShiftRow.start, ShiftRow.end, ShiftRow.fetched_at, ShiftRow.layer
        ).where(ShiftRow.team.in_(teams), ShiftRow.end > (since or self.now))
        if end is not None:
            query = query.where(ShiftRow.start < end)
        found: dict[str, list[Shift]] = defaultdict(list)
        for team, person, start, stop, fetched, layer in self.session.execute(query):
            found[team].append(Shift(person.lower(), start, stop, layer))
            self._fetched[team] = max(fetched, self._fetched.get(team, fetched))
        return found

    def fetched_at(self, team: str) -> datetime | None:
        """When the team's cached timeline was read from the pager (None: never)."""
        state = self.states().get(team)
        read = self._fetched.get(team) or self._timeline_read.get(team)
        return read or (state.shifts_fetched_at if state is not None else None)  # an empty timeline

    def handovers(self, teams: Sequence[str]) -> tuple[dict[str, Change], dict[str, datetime]]:
        """The next change per team, and where the timeline ends for teams without one in the first look."""
        window_end = self.now + FIRST_LOOK
        first = self.timelines(teams, window_end)
        self.first_look = first
        found: dict[str, Change] = {}
        for team in teams:
            change = next_change(first.get(team, []), self.now, window_end)
            if change is not None and change[1]:  # a drop to nobody may be the timeline's edge: read on
                found[team] = change
        rest = [t for t in teams if t not in found]
        horizons: dict[str, datetime] = {}
        for team, shifts in (self.timelines(rest) if rest else {}).items():
            horizons[team] = max(s.end for s in shifts)  # where our knowledge stops, not a handover to nobody
            found[team] = next_change(shifts, self.now, horizons[team])
        return {t: found.get(t) for t in teams}, horizons

    def people(self, pager_ids: Iterable[str]) -> dict[str, Person]:
        """Persons for identities: the roster's mapping first, then [people], then profiles we cached."""
        ids = {p.lower() for p in pager_ids}
        if not ids:
            return {}
        mapped = select(PersonRow.pager_id, PersonRow.slack_user_id, PersonRow.display_name, PersonRow.status)
        rows = {row[0]: row for row in self.session.execute(mapped.where(PersonRow.pager_id.in_(ids)))}
        known = select(SlackUser.email, SlackUser.user_id, SlackUser.name).where(SlackUser.email.in_(ids))
        profiles = {email: (user_id, name) for email, user_id, name in self.session.execute(known)}
        found: dict[str, Person] = {}
        for pager_id in ids:
            row, profile = rows.get(pager_id), profiles.get(pager_id)
            if row is not None and (row[3] != "ok" or row[1]):
                found[pager_id] = Person(pager_id, row[1], row[2], row[3])
            elif (slack_id := known_slack_id(self.config.people, pager_id)) is not None:
                found[pager_id] = Person(pager_id, slack_id, None, "ok")
            elif profile is not None:
                found[pager_id] = Person(pager_id, profile[0], profile[1], "ok")
            else:
                found[pager_id] = Person(pager_id, status="unknown")
        return found

    def freshness(self, team: str, as_of: datetime | None) -> Freshness:
        """Freshness of data fetched at ``as_of``; a failure shows once the data is stale, not for a blip."""
        state = self.states().get(team)
        stale = state_is_stale(state, self.now, self.config.refresh_minutes)
        failing = state.failing_since if stale and state is not None else None
        return Freshness(as_of, failing, state.last_error if failing and state is not None else None, stale)
