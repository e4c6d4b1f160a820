"""Queries over the cache shared by several services. Each function takes the caller's Session."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, inspect, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from app.domain import Shift
from app.store.base import Base
from app.store.models import Notice, OnCallSnapshot, PersonRow, ShiftRow, TeamState


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415 - loaded only by a bot on PostgreSQL

        return postgresql.insert
    return sqlite.insert


def insert_ignoring_duplicates(session: Session, model: type[Base], values: dict[str, Any]) -> bool:
    """INSERT a row unless a unique key already holds it; True when this call inserted it.

    This is how the bot does things exactly once across restarts and replicas: whoever inserts
    the key first owns the action.
    """
    statement = _insert(session)(model).values(**values).on_conflict_do_nothing()
    # RETURNING tells, on both databases, whether the row went in: psycopg reports no rowcount (-1,
    # which is truthy) for an INSERT that SQLAlchemy itself extends with RETURNING.
    keys = inspect(model).primary_key
    return session.execute(statement.returning(*keys)).first() is not None


def insert_many_ignoring_duplicates(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """INSERT each row unless a unique key already holds it: one executemany, whoever comes first wins."""
    if rows:
        session.connection().execute(_insert(session)(model.__table__).on_conflict_do_nothing(), rows)


def upsert(session: Session, model: type[Base], values: dict[str, Any], key: Sequence[str]) -> None:
    """INSERT the row, or UPDATE it where ``key`` already holds one: one statement, so no worker races.

    Cache writes use this rather than get-then-insert, which fails with a unique-key error when two team
    workers (or replicas) store the same person at the same time.
    """
    statement = _insert(session)(model).values(**values)
    changes = {name: statement.excluded[name] for name in values if name not in key}
    session.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changes))


def team_state(session: Session, team: str) -> TeamState:
    """The team's refresh state row, created empty on first use (by whichever worker comes first)."""
    state = session.get(TeamState, team)
    if state is None:
        insert_ignoring_duplicates(session, TeamState, {"team": team})
        state = session.get(TeamState, team)
        assert state is not None  # inserted now, or by a concurrent worker whose commit we waited for
    return state


def last_refreshed(session: Session, teams: Iterable[str]) -> datetime | None:
    """When the least recently refreshed of ``teams`` was last tried, by any process; None: one never was."""
    names = set(teams)
    statement = select(TeamState.team, TeamState.last_attempt_at).where(TeamState.team.in_(names))
    tried: dict[str, datetime | None] = {row.team: row.last_attempt_at for row in session.execute(statement)}
    times: list[datetime] = [at for at in tried.values() if at is not None]
    if not names or set(tried) != names or len(times) != len(names):
        return None
    return min(times)


def latest_snapshot(session: Session, team: str) -> OnCallSnapshot | None:
    """The most recent on-call set stored for ``team``."""
    statement = (
        select(OnCallSnapshot)
        .where(OnCallSnapshot.team == team)
        .order_by(OnCallSnapshot.first_seen_at.desc(), OnCallSnapshot.id.desc())
        .limit(1)
    )
    return session.scalars(statement).first()


def snapshot_at(session: Session, team: str, at: datetime) -> OnCallSnapshot | None:
    """The on-call set that was current for ``team`` at ``at`` (history for handovers)."""
    statement = (
        select(OnCallSnapshot)
        .where(OnCallSnapshot.team == team, OnCallSnapshot.first_seen_at <= at)
        .order_by(OnCallSnapshot.first_seen_at.desc(), OnCallSnapshot.id.desc())
        .limit(1)
    )
    return session.scalars(statement).first()


def record_on_call(
    session: Session,
    team: str,
    people: Sequence[str],
    at: datetime,
    *,
    same: Callable[[Sequence[str], Sequence[str]], bool] | None = None,
) -> bool:
    """Store who is on call now; True when the set differs from the previous snapshot.

    ``same`` may say that different pager identities are the same people (a team that moved pagers:
    emails became account ids): the snapshot then takes the new identities but keeps its start, so the
    shift it stands for, and everything said once per shift, stays the same.
    """
    latest = latest_snapshot(session, team)
    if latest is not None and set(latest.people) != set(people) and same and same(latest.people, people):
        latest.people = list(people)
    if latest is not None and set(latest.people) == set(people):
        latest.last_seen_at = max(latest.last_seen_at, at)
        return False
    session.add(OnCallSnapshot(team=team, people=list(people), first_seen_at=at, last_seen_at=at))
    return True


def shifts_between(session: Session, team: str, start: datetime, end: datetime) -> list[Shift]:
    """The cached shifts of ``team`` that overlap ``[start, end)``, by start time."""
    # Columns, not ShiftRow entities: a handover reads a team's whole timeline, and the ORM's identity map
    # and instance state were ~3/4 of that read's CPU.
    statement = (
        select(ShiftRow.person, ShiftRow.start, ShiftRow.end, ShiftRow.layer)
        .where(ShiftRow.team == team, ShiftRow.end > start, ShiftRow.start < end)
        .order_by(ShiftRow.start, ShiftRow.person)
    )
    return [Shift(person, begins, ends, layer) for person, begins, ends, layer in session.execute(statement)]


def replace_shifts(session: Session, team: str, shifts: Iterable[Shift], fetched_at: datetime) -> list[Shift]:
    """Replace the team's cached timeline with ``shifts``; return the shifts it held before."""
    columns = select(ShiftRow.person, ShiftRow.start, ShiftRow.end, ShiftRow.layer)
    before = [
        Shift(person, begins, ends, layer)
        for person, begins, ends, layer in session.execute(
            columns.where(ShiftRow.team == team).order_by(ShiftRow.start)
        )
    ]
    session.execute(delete(ShiftRow).where(ShiftRow.team == team))
    session.add_all(
        ShiftRow(team=team, person=s.person, start=s.start, end=s.end, fetched_at=fetched_at, layer=s.layer)
        for s in shifts
    )
    return before


def people_rows(session: Session, pager_ids: Iterable[str]) -> dict[str, PersonRow]:
    """The cached Slack mappings for these pager identities, keyed by identity."""
    ids = {p.lower() for p in pager_ids}
    if not ids:
        return {}
    rows = session.scalars(select(PersonRow).where(PersonRow.pager_id.in_(ids)))
    return {row.pager_id: row for row in rows}


def claim_notice(session: Session, team: str, kind: str, key: str, *, at: datetime, text: str) -> bool:
    """Reserve the right to say (team, kind, key) once; False when it was already said."""
    return insert_ignoring_duplicates(
        session, Notice, {"team": team, "kind": kind, "key": key, "created_at": at, "text": text}
    )


def release_notice(session: Session, team: str, kind: str, key: str) -> None:
    """Forget a claimed notice (its post failed), so that a later cycle tries again."""
    session.execute(delete(Notice).where(Notice.team == team, Notice.kind == kind, Notice.key == key))
