"""Read model for /oncall and the App Home: now, next, week and "me" from the cache, with freshness.

Pure functions over a Session and an explicit ``now``; they return plain values, never ORM rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.domain import Shift, Team
from app.model.oncall import Freshness, MyShifts, Person, ShiftView, TeamHome, TeamNext, TeamNow, TeamWeek
from app.oncall_config import OncallConfig
from app.services.answer_validity import Validity
from app.services.oncall_cache import CacheReader, Change, Snapshot, TeamStates, merged, next_change
from app.services.roster import HORIZON  # how far ahead the pager is read
from app.services.shift_turns import layers_at
from app.store import reads

__all__ = [
    "Freshness",
    "MyShifts",
    "Person",
    "ShiftView",
    "TeamHome",
    "TeamNext",
    "TeamNow",
    "TeamStates",
    "TeamWeek",
    "generations",
    "home_teams",
    "identities_of",
    "my_shifts",
    "next_change",
    "next_on_call",
    "on_call_now",
    "week_ahead",
]

WEEK = timedelta(days=7)
Teams = Sequence[Team]


def _timeline_freshness(reader: CacheReader, team: str) -> Freshness:
    """Freshness of a team's cached timeline (an empty timeline still counts as fetched)."""
    return reader.freshness(team, reader.fetched_at(team))


def _persons(people: dict[str, Person], pager_ids: Iterable[str]) -> tuple[Person, ...]:
    """The persons for ``pager_ids``, sorted by identity."""
    return tuple(people[p] for p in sorted({p.lower() for p in pager_ids}))


def _current(people: dict[str, Person], snapshot: Snapshot | None) -> tuple[Person, ...] | None:
    """Who the pager's latest answer has on call (None: no answer yet)."""
    return None if snapshot is None else _persons(people, snapshot.people)


def _handovers(
    session: Session, config: OncallConfig, teams: Teams, now: datetime, validity: Validity | None
) -> tuple[CacheReader, dict[str, Snapshot], dict[str, Change], dict[str, datetime]]:
    """The reader, each team's latest pager answer, its next handover and where its timeline ends."""
    names = [t.name for t in teams]
    reader = CacheReader(session, config, now, names, validity)
    snapshots = reader.snapshots(names)
    changes, horizons = reader.handovers(names)
    return reader, snapshots, changes, horizons


def on_call_now(
    session: Session, config: OncallConfig, teams: Teams, now: datetime, validity: Validity | None = None
) -> list[TeamNow]:
    """Who is on call now for each of ``teams`` per the latest pager answer, and until when."""
    reader, snapshots, changes, _ = _handovers(session, config, teams, now, validity)
    # The shifts handovers() read from now on include those covering now: no second query.
    layers = {name: layers_at(shifts, now) for name, shifts in reader.first_look.items()}
    people = reader.people(
        [p for s in snapshots.values() for p in s.people]
        + [p for team_layers in layers.values() for _, ids in team_layers for p in ids]
    )
    answers = []
    for team in teams:
        snapshot, change = snapshots.get(team.name), changes[team.name]
        # Per layer only while the timeline agrees with the pager's latest answer about who is on call.
        shown = layers.get(team.name, ())
        if snapshot is None or {p for _, ids in shown for p in ids} != {p.lower() for p in snapshot.people}:
            shown = ()
        seen = snapshot.seen_at if snapshot is not None else None
        answers.append(
            TeamNow(
                team,
                _current(people, snapshot),
                reader.freshness(team.name, seen),
                change[0] if change else None,
                tuple((name, _persons(people, ids)) for name, ids in shown),
            )
        )
    return answers


def next_on_call(
    session: Session, config: OncallConfig, teams: Teams, now: datetime, validity: Validity | None = None
) -> list[TeamNext]:
    """The next handover of each of ``teams`` from the cached timeline."""
    reader, snapshots, changes, horizons = _handovers(session, config, teams, now, validity)
    people = reader.people(
        [p for s in snapshots.values() for p in s.people] + [p for c in changes.values() if c for p in c[1]]
    )
    return [
        TeamNext(
            team,
            _current(people, snapshots.get(team.name)),
            change[0] if (change := changes[team.name]) else None,
            _persons(people, change[1]) if change else (),
            _timeline_freshness(reader, team.name),
            horizons.get(team.name),
        )
        for team in teams
    ]


def week_ahead(
    session: Session, config: OncallConfig, teams: Teams, now: datetime, validity: Validity | None = None
) -> list[TeamWeek]:
    """Each team's shifts overlapping the next seven days, adjacent pieces merged."""
    names = [t.name for t in teams]
    reader = CacheReader(session, config, now, names, validity)
    # A week back as well, so that a running shift split into pieces shows where it really began.
    timelines = reader.timelines(names, now + WEEK, since=now - WEEK, sliding=True)
    people = reader.people(s.person for shifts in timelines.values() for s in shifts)
    weeks = []
    for team in teams:
        shifts = timelines.get(team.name, [])
        last = max((s.end for s in shifts), default=None)
        weeks.append(
            TeamWeek(
                team,
                tuple(v for v in merged(team.name, shifts, people) if v.end > now),
                _timeline_freshness(reader, team.name),
                last if last is not None and last < now + WEEK else None,
            )
        )
    return weeks


def generations(session: Session) -> dict[str, int]:
    """The cache's answer generations in this transaction: read before the rows an answer is made of."""
    return reads.generations(session)


def _in_a_rotation(config: OncallConfig, user_id: str) -> bool:
    for team in config.teams:
        if team.rotation is None:
            continue
        people = {p for layer in team.rotation.layers for p in layer.people}
        if user_id in people or any(o.person == user_id for o in team.rotation.overrides):
            return True
    return False


def identities_of(session: Session, config: OncallConfig, user_id: str) -> tuple[str, ...]:
    """The pager identities that are this Slack user: roster mapping, [people] and their profile email."""
    ids = {row[0] for row in reads.rows(session, reads.PAGER_IDS_OF, user_id=user_id)}
    ids |= {email for email, slack_id in config.people.items() if slack_id == user_id}
    if _in_a_rotation(config, user_id):
        ids.add(user_id.lower())  # a built-in rotation lists the user by Slack id: that is an identity too
    profile = reads.profile(session, user_id)
    if profile is not None and profile.email:
        ids.add(profile.email)
    return tuple(sorted(ids))


def _combined(reader: CacheReader, names: Sequence[str]) -> Freshness:
    """One freshness for data from several teams: the oldest fetch and the longest failure."""
    known = [_timeline_freshness(reader, n) for n in names]
    dated = [f.as_of for f in known if f.as_of is not None]
    failing = sorted(
        (f for f in known if f.failing_since is not None), key=lambda f: f.failing_since or reader.now
    )
    worst = failing[0] if failing else None
    return Freshness(
        min(dated) if dated else None,
        worst.failing_since if worst else None,
        worst.error if worst else None,
        any(f.stale for f in known),
    )


def team_states(session: Session, config: OncallConfig, now: datetime) -> TeamStates:
    """Every team's refresh state (what ``my_shifts`` reads of every team, whoever asks)."""
    return CacheReader(session, config, now).every_state()


def my_shifts(
    session: Session,
    config: OncallConfig,
    user_id: str,
    now: datetime,
    validity: Validity | None = None,
    states: TeamStates | None = None,
) -> MyShifts:
    """The user's current shifts and next shift per team, across every configured team.

    ``states``: every team's state from ``team_states``, read at the same roster generation.
    """
    reader = CacheReader(session, config, now, validity=validity, known=states)
    reader.validity.profiles = True  # the user's profile email is one of their identities
    names = [t.name for t in config.teams]
    ids = identities_of(session, config, user_id)
    rows = reads.shifts_of(session, ids, now - WEEK, names)
    by_team: dict[str, list[Shift]] = defaultdict(list)
    for team, pager_id, start, end in rows:
        by_team[team].append(Shift(pager_id, start, end))
    ends = [row[3] for row in rows]
    reader.validity.changes_at_each([row[2] for row in rows])
    reader.validity.changes_at_each(ends)
    reader.validity.changes_at_each(ends, WEEK)  # a shift that ended a week ago is no longer read
    people = reader.people(ids)
    current: list[ShiftView] = []
    upcoming: list[ShiftView] = []
    for name in names:
        if name not in by_team:
            continue
        views = [v for v in merged(name, by_team[name], people) if v.end > now]
        current += [v for v in views if v.start <= now]
        upcoming += [v for v in views if v.start > now][:1]
    upcoming.sort(key=lambda v: v.start)
    fetched = {n: reader.fetched_at(n) for n in names}
    with_data = [n for n in names if fetched[n] is not None]
    reaches = [at + HORIZON for at in fetched.values() if at is not None]
    # Another team's outage says nothing about this user's shifts: judge the teams they appear in.
    mine = [n for n in names if n in by_team]
    freshness = _combined(reader, mine or with_data or names)
    unknown = tuple(n for n in names if fetched[n] is None)
    return MyShifts(
        user_id, ids, tuple(current), tuple(upcoming), freshness, min(reaches, default=None), unknown
    )


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
