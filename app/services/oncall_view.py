"""Read model for /oncall and the App Home: now, next, week and "me" from the cache, with freshness.

Pure functions over a Session and an explicit ``now``; they return plain values, never ORM rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import OncallConfig
from app.domain import Shift, Team
from app.services.oncall_cache import CacheReader, Change, Freshness, Person, ShiftView, merged, next_change
from app.store.models import PersonRow, ShiftRow, SlackUser

__all__ = [
    "Freshness",
    "MyShifts",
    "Person",
    "ShiftView",
    "TeamHome",
    "TeamNext",
    "TeamNow",
    "TeamWeek",
    "home_teams",
    "identities_of",
    "my_shifts",
    "next_change",
    "next_on_call",
    "on_call_now",
    "week_ahead",
]

WEEK = timedelta(days=7)
# The first handover is usually within a day or two: reading that much first keeps 50-team answers cheap.
FIRST_LOOK = timedelta(days=2)
Ends = dict[str, tuple[datetime, datetime]]


@dataclass(frozen=True)
class TeamNow:
    """Who is on call for a team now (None: no data yet), until when, and how fresh that is."""

    team: Team
    people: tuple[Person, ...] | None
    freshness: Freshness
    until: datetime | None = None


@dataclass(frozen=True)
class TeamNext:
    """The next handover of a team: when, and to whom (``at`` None: none in the cached timeline)."""

    team: Team
    current: tuple[Person, ...] | None
    at: datetime | None
    incoming: tuple[Person, ...]
    freshness: Freshness
    known_until: datetime | None = None


@dataclass(frozen=True)
class TeamWeek:
    """A team's shifts overlapping the next seven days."""

    team: Team
    shifts: tuple[ShiftView, ...]
    freshness: Freshness
    known_until: datetime | None = None


@dataclass(frozen=True)
class MyShifts:
    """The asking user's current and next shifts across all teams."""

    user_id: str
    identities: tuple[str, ...]
    current: tuple[ShiftView, ...]
    upcoming: tuple[ShiftView, ...]
    freshness: Freshness


@dataclass(frozen=True)
class TeamHome:
    """One team on the App Home: on call now, the last usergroup sync and unmapped people."""

    now: TeamNow
    sync_result: str | None
    sync_at: datetime | None
    sync_detail: str | None
    unmapped: tuple[Person, ...]


def _handovers(reader: CacheReader, names: Sequence[str], ends: Ends) -> dict[str, Change]:
    """The next handover per team, reading a short window first and the whole timeline only when needed."""
    window_end = reader.now + FIRST_LOOK
    found: dict[str, Change] = {}
    timelines = reader.timelines(names, window_end)
    for name in names:
        horizon = ends[name][1] if name in ends else reader.now
        found[name] = next_change(timelines.get(name, []), reader.now, min(horizon, window_end))
    rest = [n for n in names if found[n] is None and n in ends and ends[n][1] > window_end]
    if rest:
        full = reader.timelines(rest)
        for name in rest:
            found[name] = next_change(full.get(name, []), reader.now, ends[name][1])
    return found


def _timeline_freshness(reader: CacheReader, name: str, ends: Ends) -> Freshness:
    """Freshness of a team's cached timeline (an empty timeline still counts as fetched)."""
    state = reader.states().get(name)
    fetched = ends[name][0] if name in ends else state.shifts_fetched_at if state is not None else None
    return reader.freshness(name, fetched)


def _persons(people: dict[str, Person], pager_ids: Iterable[str]) -> tuple[Person, ...]:
    """The persons for ``pager_ids``, sorted by identity."""
    return tuple(people[p] for p in sorted({p.lower() for p in pager_ids}))


def on_call_now(
    session: Session, config: OncallConfig, teams: Sequence[Team], now: datetime
) -> list[TeamNow]:
    """Who is on call now for each of ``teams`` per the latest pager answer, and until when."""
    reader = CacheReader(session, config, now)
    names = [t.name for t in teams]
    snapshots = reader.snapshots(names)
    ends = reader.timeline_ends(names)
    changes = _handovers(reader, names, ends)
    people = reader.people(p for s in snapshots.values() for p in s.people)
    answers = []
    for team in teams:
        snapshot = snapshots.get(team.name)
        current = (
            None
            if snapshot is None
            else tuple(people[p] for p in sorted({p.lower() for p in snapshot.people}))
        )
        change = changes[team.name]
        freshness = reader.freshness(team.name, snapshot.last_seen_at if snapshot is not None else None)
        answers.append(TeamNow(team, current, freshness, change[0] if change else None))
    return answers


def next_on_call(
    session: Session, config: OncallConfig, teams: Sequence[Team], now: datetime
) -> list[TeamNext]:
    """The next handover of each of ``teams`` from the cached timeline."""
    reader = CacheReader(session, config, now)
    names = [t.name for t in teams]
    snapshots = reader.snapshots(names)
    ends = reader.timeline_ends(names)
    changes = _handovers(reader, names, ends)
    people = reader.people(
        [p for s in snapshots.values() for p in s.people] + [p for c in changes.values() if c for p in c[1]]
    )
    answers = []
    for team in teams:
        snapshot, change = snapshots.get(team.name), changes[team.name]
        answers.append(
            TeamNext(
                team,
                None if snapshot is None else _persons(people, snapshot.people),
                change[0] if change else None,
                _persons(people, change[1]) if change else (),
                _timeline_freshness(reader, team.name, ends),
                ends[team.name][1] if team.name in ends else None,
            )
        )
    return answers


def week_ahead(
    session: Session, config: OncallConfig, teams: Sequence[Team], now: datetime
) -> list[TeamWeek]:
    """Each team's shifts overlapping the next seven days, adjacent pieces merged."""
    reader = CacheReader(session, config, now)
    names = [t.name for t in teams]
    ends = reader.timeline_ends(names)
    # A week back as well, so that a running shift split into pieces shows where it really began.
    timelines = reader.timelines(names, now + WEEK, since=now - WEEK)
    people = reader.people(s.person for shifts in timelines.values() for s in shifts)
    return [
        TeamWeek(
            team,
            tuple(v for v in merged(team.name, timelines.get(team.name, []), people) if v.end > now),
            _timeline_freshness(reader, team.name, ends),
            ends[team.name][1] if team.name in ends else None,
        )
        for team in teams
    ]


def identities_of(session: Session, config: OncallConfig, user_id: str) -> tuple[str, ...]:
    """The pager identities that are this Slack user: roster mapping, [people] and their profile email."""
    ids = set(session.scalars(select(PersonRow.pager_id).where(PersonRow.slack_user_id == user_id)))
    ids |= {email for email, slack_id in config.people.items() if slack_id == user_id}
    profile = session.get(SlackUser, user_id)
    if profile is not None and profile.email:
        ids.add(profile.email)
    return tuple(sorted(ids))


def my_shifts(session: Session, config: OncallConfig, user_id: str, now: datetime) -> MyShifts:
    """The user's current shifts and next shift per team, across every configured team."""
    reader = CacheReader(session, config, now)
    names = [t.name for t in config.teams]
    ids = identities_of(session, config, user_id)
    person = func.lower(ShiftRow.person)
    rows = session.execute(
        select(ShiftRow.team, person, ShiftRow.start, ShiftRow.end).where(
            person.in_(ids), ShiftRow.end > now - WEEK, ShiftRow.team.in_(names)
        )
    )
    by_team: dict[str, list[Shift]] = defaultdict(list)
    for team, pager_id, start, end in rows:
        by_team[team].append(Shift(pager_id, start, end))
    people = reader.people(ids)
    current: list[ShiftView] = []
    upcoming: list[ShiftView] = []
    for name in names:
        views = [v for v in merged(name, by_team.get(name, []), people) if v.end > now]
        current += [v for v in views if v.start <= now]
        upcoming += [v for v in views if v.start > now][:1]
    ends = reader.timeline_ends(names)
    known = [_timeline_freshness(reader, n, ends) for n in names]
    dated = [f.as_of for f in known if f.as_of is not None]
    failing = [f for f in known if f.failing_since is not None]
    worst = min(failing, key=lambda f: f.failing_since or now) if failing else None
    freshness = Freshness(
        min(dated) if dated else None,
        worst.failing_since if worst else None,
        worst.error if worst else None,
        any(f.stale for f in known),
    )
    return MyShifts(user_id, ids, tuple(current), tuple(sorted(upcoming, key=lambda v: v.start)), freshness)


def home_teams(session: Session, config: OncallConfig, now: datetime) -> list[TeamHome]:
    """Every team for the App Home: on call now, last usergroup sync, people who are not in Slack."""
    nows = on_call_now(session, config, config.teams, now)
    syncs = CacheReader(session, config, now).latest_syncs([t.name for t in config.teams])
    homes = []
    for team_now in nows:
        sync = syncs.get(team_now.team.name)
        unmapped = tuple(p for p in team_now.people or () if p.status != "ok" or not p.slack_user_id)
        homes.append(
            TeamHome(
                team_now,
                sync.result if sync else None,
                sync.at if sync else None,
                sync.detail if sync else None,
                unmapped,
            )
        )
    return homes
