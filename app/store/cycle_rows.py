"""The refresh-and-sync cycle's reads and writes: Core statements built once, a few per cycle for every team.

Through the ORM each team cost six transactions and ~9 statements a cycle (its state row read four
times, its latest snapshot twice, a flush of three updates), ~13 ms of CPU a team; these read every
team's rows in one statement and write what changed as one executemany per kind of change. Rows come
back as plain values: nothing is loaded into a session's identity map.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple, cast

from sqlalchemy import BindParameter, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.domain import Shift
from app.store import reads, repo
from app.store.models import OnCallSnapshot, PersonRow, ShiftRow, TeamState, UsergroupSync

_states = cast(Table, TeamState.__table__)
_snapshots = cast(Table, OnCallSnapshot.__table__)
_shifts = cast(Table, ShiftRow.__table__)
_people = cast(Table, PersonRow.__table__)
_syncs = cast(Table, UsergroupSync.__table__)
_state, _snapshot, _shift, _person, _sync = _states.c, _snapshots.c, _shifts.c, _people.c, _syncs.c
_TEAMS: BindParameter[Any] = bindparam("teams", expanding=True)


class StateRow(NamedTuple):
    """A team's refresh state as plain values (staleness reads it as a RefreshState)."""

    team: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    failing_since: datetime | None
    outage_announced_since: datetime | None
    shifts_fetched_at: datetime | None


class SnapshotRow(NamedTuple):
    """A team's latest on-call set: the shift it stands for began at ``first_seen_at``."""

    team: str
    people: tuple[str, ...]
    last_seen_at: datetime
    id: int
    first_seen_at: datetime


class PersonMapping(NamedTuple):
    """A cached pager identity → Slack user mapping (the people table's row as plain values)."""

    pager_id: str
    slack_user_id: str | None
    source: str
    status: str
    display_name: str | None
    checked_at: datetime


STATES = select(*(_states.c[name] for name in StateRow._fields)).where(_state.team.in_(_TEAMS))
# /oncall's latest snapshot per team (one index probe each, flat in history), with its id and start.
SNAPSHOTS = reads.SNAPSHOTS.add_columns(_snapshot.id, _snapshot.first_seen_at)

# Who the cached timelines put on call at one instant (the [at, at + 1 s) overlap the roster always used).
SHIFTS_AT = select(_shift.team, _shift.person, _shift.start, _shift.end, _shift.layer).where(
    _shift.team.in_(_TEAMS), _shift.end > bindparam("at"), _shift.start < bindparam("until")
)
SHOWN = (
    select(_shift.person)
    .distinct()
    .where(_shift.team.in_(_TEAMS), _shift.end > bindparam("since"), _shift.start < bindparam("until"))
)
TIMELINES = (
    select(_shift.team, _shift.person, _shift.start, _shift.end, _shift.layer)
    .where(_shift.team.in_(_TEAMS))
    .order_by(_shift.team, _shift.start, _shift.id)
)
DELETE_SHIFTS = delete(_shifts).where(_shift.team.in_(_TEAMS))
INSERT_SHIFTS = insert(_shifts)
INSERT_BATCH = 1_000  # shifts a timeline insert binds at once (see replace_timelines)
INSERT_SNAPSHOTS = insert(_snapshots)
# The writes of every cycle set one time on many rows: one UPDATE ... WHERE key IN (...) each, not an
# executemany of a row per team.
_KEYS: BindParameter[Any] = bindparam("keys", expanding=True)
TOUCH_SNAPSHOTS = update(_snapshots).where(_snapshot.id.in_(_KEYS)).values(last_seen_at=bindparam("at"))
RENAME_SNAPSHOTS = (
    update(_snapshots)
    .where(_snapshot.id == bindparam("sid"))
    .values(people=bindparam("renamed", type_=_snapshot.people.type), last_seen_at=bindparam("seen"))
)
_ok = {
    "last_attempt_at": bindparam("at", type_=_state.last_attempt_at.type),
    "last_success_at": bindparam("at", type_=_state.last_success_at.type),
    "last_error": None,
    "failing_since": None,
}
STATES_OK = update(_states).where(_state.team.in_(_KEYS)).values(**_ok)
STATES_OK_FETCHED = STATES_OK.values(shifts_fetched_at=bindparam("fetched"))
STATES_FAILED = (
    update(_states)
    .where(_state.team == bindparam("t"))
    .values(
        last_attempt_at=bindparam("at", type_=_state.last_attempt_at.type),
        last_error=bindparam("error"),
        failing_since=func.coalesce(_state.failing_since, bindparam("at", type_=_state.failing_since.type)),
    )
)
PEOPLE = select(*(_people.c[name] for name in PersonMapping._fields)).where(
    _person.pager_id.in_(bindparam("ids", expanding=True))
)
# The newest sync record per team by id, as usergroups' record has always compared against (a team's
# rows are few: an unchanged sync moves the time of the last record instead of adding one).
_newest_syncs = select(func.max(_sync.id)).where(_sync.team.in_(_TEAMS)).group_by(_sync.team)
SYNCS = select(_sync.id, _sync.team, _sync.result, _sync.after).where(_sync.id.in_(_newest_syncs))
TOUCH_SYNCS = update(_syncs).where(_sync.id.in_(_KEYS)).values(at=bindparam("at"))
INSERT_SYNCS = insert(_syncs)


def _rows(session: Session, statement: Any, values: dict[str, Any]) -> Sequence[Any]:
    return session.connection().execute(statement, values).all()


def write(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    """Run one of this module's prebuilt writes over ``rows``: one executemany (nothing when empty)."""
    if rows:
        session.connection().execute(statement, rows)


def write_all(session: Session, statement: Any, keys: Sequence[Any], **values: Any) -> None:
    """Run one of the one-value-for-many-rows writes on the rows of ``keys`` (nothing when empty)."""
    if keys:
        session.connection().execute(statement, {"keys": list(keys), **values})


def states(session: Session, teams: Sequence[str]) -> dict[str, StateRow]:
    """The refresh state of every team that has one."""
    return {row[0]: StateRow(*row) for row in _rows(session, STATES, {"teams": list(teams)})}


def snapshots(session: Session, teams: Sequence[str]) -> dict[str, SnapshotRow]:
    """The latest on-call snapshot of every team that has one."""
    found = _rows(session, SNAPSHOTS, {"teams": list(teams)})
    return {row[0]: SnapshotRow(row[0], tuple(row[1]), *row[2:]) for row in found}


def _by_team(found: Iterable[Any]) -> dict[str, list[Shift]]:
    shifts: dict[str, list[Shift]] = defaultdict(list)
    for team, person, start, end, layer in found:
        shifts[team].append(Shift(person, start, end, layer))
    return shifts


def shifts_at(
    session: Session, teams: Sequence[str], at: datetime, until: datetime
) -> dict[str, list[Shift]]:
    """The cached shifts of these teams that overlap ``[at, until)``."""
    return _by_team(_rows(session, SHIFTS_AT, {"teams": list(teams), "at": at, "until": until}))


def shown(session: Session, teams: Sequence[str], since: datetime, until: datetime) -> set[str]:
    """The (lowercased) identities of these teams' cached shifts that overlap ``[since, until)``."""
    found = _rows(session, SHOWN, {"teams": list(teams), "since": since, "until": until})
    return {row[0].lower() for row in found}


def replace_timelines(
    session: Session, timelines: dict[str, list[Shift]], fetched_at: datetime
) -> dict[str, list[Shift]]:
    """Replace these teams' cached timelines; return what each held before (by start)."""
    teams = list(timelines)
    if not teams:
        return {}
    before = _by_team(_rows(session, TIMELINES, {"teams": teams}))
    session.connection().execute(DELETE_SHIFTS, {"teams": teams})
    rows = (
        {
            "team": team,
            "person": s.person,
            "start": s.start,
            "end": s.end,
            "fetched_at": fetched_at,
            "layer": s.layer,
        }
        for team, shifts in timelines.items()
        for s in shifts
    )
    # In batches: the parameters of one executemany are all built (and bound) before its first row is
    # written; a first cycle or an hourly re-read of every timeline would hold them all at once.
    while batch := list(islice(rows, INSERT_BATCH)):
        write(session, INSERT_SHIFTS, batch)
    return before


def ensure_states(session: Session, teams: Iterable[str]) -> None:
    """Create the empty state row of each of these teams (whoever comes first; the rest is a no-op)."""
    repo.insert_many_ignoring_duplicates(session, TeamState, [{"team": team} for team in teams])


def people(session: Session, pager_ids: Iterable[str]) -> dict[str, PersonMapping]:
    """The cached Slack mappings of these (lowercase) pager identities."""
    ids = sorted(set(pager_ids))
    if not ids:
        return {}
    return {row[0]: PersonMapping(*row) for row in _rows(session, PEOPLE, {"ids": ids})}


def latest_syncs(session: Session, teams: Sequence[str]) -> dict[str, tuple[int, str, tuple[str, ...]]]:
    """(id, result, members after) of each team's newest usergroup sync record."""
    found = _rows(session, SYNCS, {"teams": list(teams)})
    return {team: (sid, result, tuple(after)) for sid, team, result, after in found}
