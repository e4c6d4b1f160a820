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
from app.services.answer_validity import Validity
from app.services.freshness import stale_after, state_is_stale
from app.store import reads
from app.store.models import TeamState, UsergroupSync

# The next handover is usually hours or days away: reading six hours of every team's timeline first, and
# the rest only for teams whose change lies further out, keeps a 50-team answer to a few hundred rows.
FIRST_LOOK = timedelta(hours=6)
# A window that slides with the clock (a week ahead) is read this much further, so that the shifts about
# to slide into it are known: the answer is good until the first of them does (Validity).
SLIDE_MARGIN = timedelta(hours=1)
Change = tuple[datetime, frozenset[str]] | None


@dataclass(frozen=True, slots=True)
class TeamStateView:
    """A team's refresh state as plain values (the team_state row, read without the ORM)."""

    team: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    failing_since: datetime | None
    shifts_fetched_at: datetime | None


@dataclass(frozen=True, slots=True)
class TeamStates:
    """Every team's refresh state, and when each team's cached timeline was read: data, no clock in it."""

    states: dict[str, TeamStateView]
    timeline_read: dict[str, datetime]


@dataclass(frozen=True, slots=True)
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

    def __init__(
        self,
        session: Session,
        config: OncallConfig,
        now: datetime,
        teams: Sequence[str] | None = None,
        validity: Validity | None = None,
        known: TeamStates | None = None,
    ) -> None:
        """``teams``: the only teams whose state this answer reads (None: every team's); ``validity``
        learns when what was read changes with the clock alone; ``known``: every team's state, read
        before in a transaction that saw the same roster generation (then nothing is read again)."""
        self.session, self.config, self.now = session, config, now
        self.validity = validity if validity is not None else Validity(now)
        self._teams = None if teams is None else list(teams)
        self._states: dict[str, TeamStateView] | None = known.states if known is not None else None
        self._timeline_read: dict[str, datetime] = known.timeline_read if known is not None else {}
        self.first_look: dict[str, list[Shift]] = {}  # what handovers() read from now on, per team

    def states(self) -> dict[str, TeamStateView]:
        """Refresh state by team (missing teams were never refreshed), with when each timeline was read."""
        if self._states is None:
            if self._teams is None:
                found = reads.rows(self.session, reads.STATES)
            else:  # a one-team answer reads one row, not every team's
                found = reads.rows(self.session, reads.STATES_OF, teams=self._teams)
            self._states = {row[0]: TeamStateView(*row[:6]) for row in found}
            self._timeline_read = {row[0]: row[6] for row in found if row[6] is not None}
        return self._states

    def every_state(self) -> TeamStates:
        """Every team's state as read (the reader must have been made for every team)."""
        return TeamStates(self.states(), self._timeline_read)

    def _latest(self, model: type[UsergroupSync], when: Any, teams: Sequence[str]) -> Any:
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
        found = reads.rows(self.session, reads.SNAPSHOTS, teams=list(teams))
        return {team: Snapshot(tuple(p.lower() for p in people), seen) for team, people, seen in found}

    def latest_syncs(self, teams: Sequence[str]) -> dict[str, UsergroupSync]:
        """The latest usergroup sync per team."""
        latest = self._latest(UsergroupSync, UsergroupSync.at, teams)
        return {
            row.team: row
            for row in self.session.scalars(select(UsergroupSync).where(UsergroupSync.id.in_(latest)))
        }

    def timelines(
        self,
        teams: Sequence[str],
        end: datetime | None = None,
        since: datetime | None = None,
        *,
        sliding: bool = False,
    ) -> dict[str, list[Shift]]:
        """Cached shifts per team that end after ``since`` (default now) and start before ``end``.

        ``sliding``: the answer shows exactly this window, which moves with the clock, so a shift
        entering or leaving it changes the answer (else only a boundary inside it does, up to ``end``).
        """
        since = since or self.now
        read_until = end + SLIDE_MARGIN if sliding and end is not None else end
        rows = reads.timeline(self.session, teams, since, read_until)
        starts, stops = [row[2] for row in rows], [row[3] for row in rows]
        validity = self.validity
        validity.changes_at_each(starts)
        validity.changes_at_each(stops)
        if sliding:
            validity.changes_at_each(stops, self.now - since)  # a shift leaves the window
            if end is not None:  # one enters it (start < end); the window's end passes a shift's end
                validity.changes_at_each(starts, self.now - end, just_after=True)
                validity.changes_at_each(stops, self.now - end, just_after=True)
        if read_until is not None:  # what lies beyond was not read
            validity.changes_at(self.now + SLIDE_MARGIN if sliding else read_until)
        found: dict[str, list[Shift]] = defaultdict(list)
        for team, person, start, stop, layer in rows:
            if end is None or start < end:
                found[team].append(Shift(person.lower(), start, stop, layer))
        return found

    def fetched_at(self, team: str) -> datetime | None:
        """When the team's cached timeline was read from the pager (None: never)."""
        state = self.states().get(team)
        read = self._timeline_read.get(team)  # every shift of a team carries its timeline's fetched_at
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
        wanted = sorted(ids)
        rows = {row[0]: row for row in reads.rows(self.session, reads.PEOPLE, ids=wanted)}
        found_profiles = reads.rows(self.session, reads.PROFILES_BY_EMAIL, ids=wanted)
        profiles = {email: (user_id, name) for email, user_id, name in found_profiles}
        found: dict[str, Person] = {}
        for pager_id in ids:
            row, profile = rows.get(pager_id), profiles.get(pager_id)
            if row is not None and (row[3] != "ok" or row[1]):
                found[pager_id] = Person(pager_id, row[1], row[2], row[3])
            elif (slack_id := known_slack_id(self.config.people, pager_id)) is not None:
                found[pager_id] = Person(pager_id, slack_id, None, "ok")
            else:
                self.validity.profiles = True  # a cached profile says who this is, or may once cached
                if profile is not None:
                    found[pager_id] = Person(pager_id, profile[0], profile[1], "ok")
                else:
                    found[pager_id] = Person(pager_id, status="unknown")
        return found

    def freshness(self, team: str, as_of: datetime | None) -> Freshness:
        """Freshness of data fetched at ``as_of``; a failure shows once the data is stale, not for a blip."""
        state = self.states().get(team)
        if as_of is not None:
            self.validity.age_shown(as_of)
        if state is not None and state.last_success_at is not None:
            self.validity.changes_after(state.last_success_at + stale_after(self.config.refresh_minutes))
        stale = state_is_stale(state, self.now, self.config.refresh_minutes)
        failing = state.failing_since if stale and state is not None else None
        return Freshness(as_of, failing, state.last_error if failing and state is not None else None, stale)
