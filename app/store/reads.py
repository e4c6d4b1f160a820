"""The hot reads behind /oncall, built once as Core statements and run on the session's connection.

An answer runs a handful of these per command, many times a second. Built per call and run through the
ORM, each cost ~1 ms of statement building, ORM compilation and row instrumentation, most of an ack's
time; as prebuilt Core statements with bound parameters they cost a cache lookup and the query itself.
The rows are plain tuples: nothing here is loaded into the session's identity map.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from app.store.models import AnswerGeneration, OnCallSnapshot, PersonRow, ShiftRow, SlackUser, TeamState

_state = TeamState.__table__.c
_shift = ShiftRow.__table__.c
_snapshot = OnCallSnapshot.__table__.c
_person = PersonRow.__table__.c
_user = SlackUser.__table__.c
_generation = AnswerGeneration.__table__.c

# Every cached shift of a team carries the same fetched_at: one index lookup per team finds it, even
# while the roster has cleared shifts_fetched_at to force a re-read.
_timeline_read = select(_shift.fetched_at).where(_shift.team == _state.team).limit(1).scalar_subquery()
STATES = select(
    _state.team,
    _state.last_attempt_at,
    _state.last_success_at,
    _state.last_error,
    _state.failing_since,
    _state.shifts_fetched_at,
    _timeline_read,
)
STATES_OF = STATES.where(_state.team.in_(bindparam("teams", expanding=True)))

# One index probe per team ((team, first_seen_at) is indexed): flat however much history the table
# holds. Every team with history has a TeamState row: its first refresh made it, before any snapshot.
_newest_snapshot = (
    select(_snapshot.id)
    .where(_snapshot.team == _state.team)
    .order_by(_snapshot.first_seen_at.desc(), _snapshot.id.desc())
    .limit(1)
    .scalar_subquery()
)
SNAPSHOTS = select(_snapshot.team, _snapshot.people, _snapshot.last_seen_at).where(
    _snapshot.id.in_(select(_newest_snapshot).where(_state.team.in_(bindparam("teams", expanding=True))))
)

_timeline = select(_shift.team, _shift.person, _shift.start, _shift.end, _shift.layer).where(
    _shift.team.in_(bindparam("teams", expanding=True)), _shift.end > bindparam("since")
)
TIMELINE = _timeline
TIMELINE_UNTIL = _timeline.where(_shift.start < bindparam("until"))

# pagers may keep an email's capitals; our identities are lowercase
_person_lower = func.lower(_shift.person)
_SHIFTS_OF_ANY_TEAM = select(_shift.team, _person_lower, _shift.start, _shift.end).where(
    _person_lower.in_(bindparam("ids", expanding=True)), _shift.end > bindparam("since")
)
SHIFTS_OF = _SHIFTS_OF_ANY_TEAM.where(_shift.team.in_(bindparam("teams", expanding=True)))
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)

PAGER_IDS_OF = select(_person.pager_id).where(_person.slack_user_id == bindparam("user_id"))
PEOPLE = select(_person.pager_id, _person.slack_user_id, _person.display_name, _person.status).where(
    _person.pager_id.in_(bindparam("ids", expanding=True))
)
PROFILES_BY_EMAIL = select(_user.email, _user.user_id, _user.name).where(
    _user.email.in_(bindparam("ids", expanding=True))
)
PROFILE = select(_user.user_id, _user.name, _user.tz, _user.email, _user.locale, _user.fetched_at).where(
    _user.user_id == bindparam("user_id")
)

GENERATIONS = select(_generation.scope, _generation.value)


def rows(session: Session, statement: Select[tuple[Any, ...]], **values: Any) -> Sequence[Any]:
    """Every row of a prebuilt statement, read in the session's transaction (its snapshot)."""
    return session.connection().execute(statement, values).all()


def timeline(
    session: Session, teams: Sequence[str], since: datetime, until: datetime | None
) -> Sequence[Any]:
    """(team, person, start, end, layer) of the teams' shifts ending after ``since``, starting before
    ``until`` (None: however far ahead)."""
    if until is None:
        return rows(session, TIMELINE, teams=list(teams), since=since)
    return rows(session, TIMELINE_UNTIL, teams=list(teams), since=since, until=until)


def shifts_of(session: Session, ids: Sequence[str], since: datetime, teams: Sequence[str]) -> Sequence[Any]:
    """(team, lowercased person, start, end) of the shifts of identities ``ids`` (lowercase) ending after
    ``since`` in ``teams``, however the pager capitalised them."""
    if not ids or session.get_bind().dialect.name != "sqlite":
        return rows(session, SHIFTS_OF, ids=list(ids), since=since, teams=list(teams))
    # lower(person) can use no index: it read every shift (3-7 ms for 10k). SQLite's lower() folds ASCII
    # only, so a match is an ASCII case variant of its identity, and in SQLite's binary order every such
    # variant lies between the identity in capitals and the identity itself: these ranges use
    # ix_shifts_person and drop no match (not on PostgreSQL, whose collations order case apart). The
    # teams are filtered here: given `team IN (...)`, SQLite's planner walks ix_shifts_team_start instead.
    bounds = {f"low{n}": i.translate(_ASCII_UPPER) for n, i in enumerate(ids)}
    bounds |= {f"high{n}": i for n, i in enumerate(ids)}
    wanted = set(teams)
    found = rows(session, _shifts_of_ranges(len(ids)), ids=list(ids), since=since, **bounds)
    return [row for row in found if row[0] in wanted]


@functools.lru_cache(maxsize=16)
def _shifts_of_ranges(count: int) -> Select[tuple[Any, ...]]:
    """SHIFTS_OF for ``count`` identities as index ranges, built once per count (not per command)."""
    ranges = or_(*(_shift.person.between(bindparam(f"low{n}"), bindparam(f"high{n}")) for n in range(count)))
    return _SHIFTS_OF_ANY_TEAM.where(ranges)


def profile(session: Session, user_id: str) -> Any:
    """The cached slack_users row of ``user_id`` as plain values (None: never asked)."""
    found = rows(session, PROFILE, user_id=user_id)
    return found[0] if found else None


def generations(session: Session) -> dict[str, int]:
    """The answer generations by scope ("roster", "profiles"): what the database's triggers bump."""
    return {str(scope): int(value) for scope, value in rows(session, GENERATIONS)}


# The same statement for the driver itself: generic SQL that SQLite and PostgreSQL both read.
_GENERATIONS_SQL = str(GENERATIONS.compile())


def generations_now(engine: Engine) -> dict[str, int]:
    """``generations`` in a statement of its own, on a pooled connection of the driver's.

    What an ack needs before it can give a kept answer: through a Session's transaction this one read
    cost ~0.35 ms of CPU, on the pooled driver connection ~0.04 ms. Its snapshot is the statement's own;
    every read made after it sees the database at least as new, so nothing kept under it is older.
    """
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(_GENERATIONS_SQL)
            found = cursor.fetchall()
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool, which rolls back what the driver may have begun
    return {str(scope): int(value) for scope, value in found}
