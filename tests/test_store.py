"""The cache's schema: migrations match the models, keep data across upgrades, and times stay UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import StatementError

from app.domain import Shift
from app.store import repo
from app.store.db import make_engine, migrate, session_factory
from app.store.models import Base, Notice, OnCallSnapshot
from tests.conftest import DATABASES, database_url


def fresh_database(directory: Path) -> str:
    """An empty database (no schema yet) of this pass's kind: SQLite, or PostgreSQL in the PG pass."""
    return DATABASES.create(migrated=False) if DATABASES.postgres else f"sqlite:///{directory}/fresh.db"


def test_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    engine = make_engine(fresh_database(tmp_path))
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


@pytest.mark.sqlite_file
def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/p.db")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 10_000


def test_upgrade_keeps_existing_data(tmp_path: Path) -> None:
    url = fresh_database(tmp_path)
    engine = make_engine(url)
    migrate(engine)
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    with session_factory(engine).begin() as session:
        repo.record_on_call(session, "data", ["alice@corp.example"], now)
    engine.dispose()
    engine = make_engine(url)
    migrate(engine)  # a second start is an upgrade to the same head: nothing lost
    with session_factory(engine).begin() as session:
        [row] = session.scalars(select(OnCallSnapshot)).all()
        assert row.people == ["alice@corp.example"]
        assert row.first_seen_at == now


def test_naive_datetimes_are_refused_and_aware_ones_come_back_in_utc(tmp_path: Path) -> None:
    engine = make_engine(database_url(tmp_path))
    migrate(engine)
    sessions = session_factory(engine)
    naive = datetime(2026, 1, 1)
    row = OnCallSnapshot(team="t", people=[], first_seen_at=naive, last_seen_at=naive)
    with sessions.begin() as session:
        session.add(row)
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
        session.rollback()
    tokyo = timezone(timedelta(hours=9))
    with sessions.begin() as session:
        repo.record_on_call(session, "t", ["a"], datetime(2026, 1, 1, 9, 0, tzinfo=tokyo))
    with sessions.begin() as session:
        row = repo.latest_snapshot(session, "t")
        assert row is not None
        assert row.first_seen_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
        assert row.first_seen_at.tzinfo is UTC


def test_notices_are_claimed_once(tmp_path: Path) -> None:
    engine = make_engine(database_url(tmp_path))
    migrate(engine)
    sessions = session_factory(engine)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with sessions.begin() as session:
        assert repo.claim_notice(session, "data", "stale", "k", at=now, text="x")
    with sessions.begin() as session:
        assert not repo.claim_notice(session, "data", "stale", "k", at=now, text="x")
        assert session.scalar(select(Notice.text)) == "x"


def test_shifts_history_and_snapshots(tmp_path: Path) -> None:
    engine = make_engine(database_url(tmp_path))
    migrate(engine)
    sessions = session_factory(engine)
    t0 = datetime(2026, 1, 5, 8, tzinfo=UTC)
    week = timedelta(days=7)
    shifts = [Shift("a", t0, t0 + week), Shift("b", t0 + week, t0 + 2 * week)]
    with sessions.begin() as session:
        assert repo.replace_shifts(session, "data", shifts, t0) == []
        assert repo.record_on_call(session, "data", ["a"], t0)
        assert not repo.record_on_call(session, "data", ["a"], t0 + timedelta(hours=1))
        assert repo.record_on_call(session, "data", ["b"], t0 + week)
    with sessions.begin() as session:
        assert repo.shifts_between(session, "data", t0 + week, t0 + week + timedelta(hours=1)) == [shifts[1]]
        assert repo.replace_shifts(session, "data", shifts[1:], t0 + week) == shifts
        before = repo.snapshot_at(session, "data", t0 + week - timedelta(seconds=1))
        assert before is not None
        assert before.people == ["a"]


@pytest.mark.sqlite_file
def test_an_askers_shifts_are_found_by_index_not_by_reading_every_shift(tmp_path: Path) -> None:
    from sqlalchemy import event

    from app.store import reads

    engine = make_engine(f"sqlite:///{tmp_path}/p.db")
    migrate(engine)
    sent: list[tuple[str, Any]] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _k, sql, values, *_: sent.append((sql, values)))
    with session_factory(engine).begin() as session:
        reads.shifts_of(session, ["ann@corp.example"], datetime(2025, 1, 1, tzinfo=UTC), ["data"])
    [(sql, values)] = [(sql, values) for sql, values in sent if "FROM shifts" in sql]
    with engine.connect() as connection:
        plan = " ".join(
            str(row[3]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", values)
        )
    assert "ix_shifts_person_lower" in plan, plan  # not "SCAN shifts": every cached shift read
