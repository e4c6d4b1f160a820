"""Batched reads of the roster cache for /oncall and the App Home: a few queries however many teams."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.config import OncallConfig
from app.domain import Shift
from app.store.models import OnCallSnapshot, PersonRow, ShiftRow, SlackUser, TeamState, UsergroupSync

MENTIONABLE = ("ok", "guest")
Change = tuple[datetime, frozenset[str]] | None


@dataclass(frozen=True)
class Person:
    """A pager identity and the Slack account it maps to, if any. ``status`` "unknown": not looked up yet."""

    pager_id: str
    slack_user_id: str | None = None
    name: str | None = None
    status: str = "unknown"

    @property
    def mentionable(self) -> bool:
        """True when the person can be shown as a Slack mention."""
        return self.slack_user_id is not None and self.status in MENTIONABLE


@dataclass(frozen=True)
class Freshness:
    """When the pager last answered for this data; ``as_of`` None means no data yet."""

    as_of: datetime | None
    failing_since: datetime | None = None
    error: str | None = None
    stale: bool = False


@dataclass(frozen=True)
class ShiftView:
    """One person's stretch on call for a team, adjacent pieces merged."""

    team: str
    person: Person
    start: datetime
    end: datetime


def people_at(shifts: Iterable[Shift], at: datetime) -> frozenset[str]:
    """The identities whose shift covers ``at``."""
    return frozenset(s.person for s in shifts if s.covers(at))


def next_change(shifts: Sequence[Shift], now: datetime, horizon: datetime) -> Change:
    """The first instant in ``(now, horizon)`` when the on-call set changes, and the new set.

    ``horizon`` is the edge of the cached timeline: its end is where our knowledge stops, not a handover
    to nobody. ``shifts`` must hold every cached shift that starts before ``horizon``.
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
    """Batched reads of the cache for a set of teams: a handful of queries however many teams there are."""

    def __init__(self, session: Session, config: OncallConfig, now: datetime) -> None:
        self.session, self.config, self.now = session, config, now
        self._states: dict[str, TeamState] | None = None

    def states(self) -> dict[str, TeamState]:
        """TeamState rows by team (missing teams were never refreshed)."""
        if self._states is None:
            self._states = {s.team: s for s in self.session.scalars(select(TeamState))}
        return self._states

    def _latest(
        self, model: type[OnCallSnapshot | UsergroupSync], when: Any, teams: Sequence[str]
    ) -> Select[Any]:
        """The newest row (by ``when``, then id) per team of a history table: one query for every team."""
        rank = func.row_number().over(partition_by=model.team, order_by=(when.desc(), model.id.desc()))
        ranked = select(model.id, rank.label("n")).where(model.team.in_(teams)).subquery()
        return select(model).join(ranked, ranked.c.id == model.id).where(ranked.c.n == 1)

    def snapshots(self, teams: Sequence[str]) -> dict[str, OnCallSnapshot]:
        """The latest snapshot per team."""
        return {
            row.team: row
            for row in self.session.scalars(self._latest(OnCallSnapshot, OnCallSnapshot.first_seen_at, teams))
        }

    def timelines(
        self, teams: Sequence[str], end: datetime | None = None, since: datetime | None = None
    ) -> dict[str, list[Shift]]:
        """Cached shifts per team that end after ``since`` (default now) and start before ``end``."""
        query = select(ShiftRow.team, ShiftRow.person, ShiftRow.start, ShiftRow.end).where(
            ShiftRow.team.in_(teams), ShiftRow.end > (since or self.now)
        )
        if end is not None:
            query = query.where(ShiftRow.start < end)
        found: dict[str, list[Shift]] = defaultdict(list)
        for team, person, start, stop in self.session.execute(query):
            found[team].append(Shift(person.lower(), start, stop))
        return found

    def timeline_ends(self, teams: Sequence[str]) -> dict[str, tuple[datetime, datetime]]:
        """Per team with a cached timeline: (when it was fetched, where it ends)."""
        query = (
            select(ShiftRow.team, func.max(ShiftRow.fetched_at), func.max(ShiftRow.end))
            .where(ShiftRow.team.in_(teams))
            .group_by(ShiftRow.team)
        )
        return {team: (fetched, end) for team, fetched, end in self.session.execute(query)}

    def people(self, pager_ids: Iterable[str]) -> dict[str, Person]:
        """Persons for identities: the roster's mapping first, then [people], then profiles we cached."""
        ids = {p.lower() for p in pager_ids}
        if not ids:
            return {}
        rows = {
            r.pager_id: r for r in self.session.scalars(select(PersonRow).where(PersonRow.pager_id.in_(ids)))
        }
        profiles = {
            u.email: u for u in self.session.scalars(select(SlackUser).where(SlackUser.email.in_(ids)))
        }
        found: dict[str, Person] = {}
        for pager_id in ids:
            row, profile = rows.get(pager_id), profiles.get(pager_id)
            if row is not None and (row.status != "ok" or row.slack_user_id):
                found[pager_id] = Person(pager_id, row.slack_user_id, row.display_name, row.status)
            elif pager_id in self.config.people:
                found[pager_id] = Person(pager_id, self.config.people[pager_id], None, "ok")
            elif profile is not None:
                found[pager_id] = Person(pager_id, profile.user_id, profile.name, "ok")
            else:
                found[pager_id] = Person(pager_id, status="unknown")
        return found

    def freshness(self, team: str, as_of: datetime | None) -> Freshness:
        """Freshness of data fetched at ``as_of``, with the team's current failure, if any."""
        state = self.states().get(team)
        stale_after = max(timedelta(minutes=3 * self.config.refresh_minutes), timedelta(minutes=15))
        failing = state.failing_since if state is not None else None
        stale = as_of is not None and failing is None and as_of < self.now - stale_after
        return Freshness(as_of, failing, state.last_error if state is not None else None, stale)

    def latest_syncs(self, teams: Sequence[str]) -> dict[str, UsergroupSync]:
        """The latest usergroup sync per team."""
        return {
            row.team: row
            for row in self.session.scalars(self._latest(UsergroupSync, UsergroupSync.at, teams))
        }
