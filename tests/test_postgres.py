"""PostgreSQL: the same schema and once-only writes as SQLite, and writers that queue across replicas."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.store import repo
from app.store.db import make_engine, reading, session_factory
from app.store.models import Notice, PersonRow
from app.store.startup import DatabaseUnusable, open_database
from tests.conftest import DATABASES

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_postgres_urls_mean_psycopg_3() -> None:
    for url in ("postgres://bot@db.internal/oncall", "postgresql://bot@db.internal/oncall"):
        engine = make_engine(url)  # no connection is made yet
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")


def test_other_databases_are_refused_in_one_sentence() -> None:
    with pytest.raises(DatabaseUnusable) as refused:
        open_database("mysql://bot:hunter2@db.internal/oncall")
    assert str(refused.value) == (
        "cannot open or upgrade the database at mysql://bot:***@db.internal/oncall: mysql is not supported: "
        "use sqlite:///PATH or postgresql+psycopg://..."
    )


pg = pytest.mark.postgres


@pg
def test_the_migrations_build_the_schema_on_postgres_with_utc_timestamps() -> None:
    engine = open_database(DATABASES.create(migrated=False))  # an empty database, as a first start meets it
    columns = {c["name"]: c for c in inspect(engine).get_columns("handovers")}
    assert str(columns["shift_start"]["type"]) == "TIMESTAMP"  # without time zone: naive UTC, as on SQLite
    sessions = session_factory(engine)
    with sessions.begin() as session:
        assert repo.claim_notice(session, "data", "stale", "k", at=NOW, text="x")
    with sessions.begin() as session:
        assert not repo.claim_notice(session, "data", "stale", "k", at=NOW, text="again")
        assert session.scalars(select(Notice.created_at)).one() == NOW
    with engine.connect() as connection:  # the stored value is UTC whatever the session's zone is
        connection.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
        assert connection.scalar(text("SELECT created_at FROM notices")) == NOW.replace(tzinfo=None)
    engine.dispose()


def _replicas(count: int) -> list[sessionmaker[Session]]:
    """Sessions of separate engines on one fresh database, as separate replicas have."""
    url = DATABASES.create()
    return [session_factory(make_engine(url)) for _ in range(count)]


@pg
def test_a_once_only_claim_has_one_winner_across_replicas() -> None:
    replicas = _replicas(3)
    wins: list[bool] = []
    start = threading.Barrier(9)

    def claim(sessions: sessionmaker[Session]) -> None:
        start.wait()
        with sessions.begin() as session:
            wins.append(repo.claim_notice(session, "data", "handover", "2026-03-02", at=NOW, text="x"))

    threads = [threading.Thread(target=claim, args=(replicas[n % 3],)) for n in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(wins) == [False] * 8 + [True]


def _person(pager_id: str) -> PersonRow:
    return PersonRow(pager_id=pager_id, slack_user_id=None, source="lookup", status="ok", checked_at=NOW)


@pg
def test_writers_of_two_replicas_queue_and_readers_never_wait() -> None:
    first, second = _replicas(2)
    committed = threading.Event()
    seen: list[int] = []

    def other_replica() -> None:
        with second.begin() as session:  # waits for the first replica's writer to finish
            seen.append(len(session.scalars(select(PersonRow)).all()))
            session.add(_person("bob@corp.example"))
        committed.set()

    with first.begin() as session:
        session.add(_person("alice@corp.example"))
        session.flush()
        worker = threading.Thread(target=other_replica)
        worker.start()
        assert not committed.wait(0.5)  # queued behind this transaction, as SQLite's BEGIN IMMEDIATE
        started = time.monotonic()
        with reading(second) as reader:  # a reader takes a snapshot and does not wait
            assert reader.scalars(select(PersonRow)).all() == []
        assert time.monotonic() - started < 1
    worker.join(timeout=15)
    assert seen == [1]  # it read after the first commit: no lost update between two replicas
    with reading(first) as session:
        assert len(session.scalars(select(PersonRow)).all()) == 2


@pg
def test_a_killed_replica_holding_the_writer_lock_frees_it_at_once() -> None:
    first, second = _replicas(2)
    session = first()
    session.begin()
    session.add(_person("alice@corp.example"))
    session.flush()  # this "replica" now holds the writer lock, then dies (kill -9 closes its connection)
    pid = session.scalar(text("SELECT pg_backend_pid()"))
    with reading(second) as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    started = time.monotonic()
    with second.begin() as other:
        other.add(_person("bob@corp.example"))
    assert time.monotonic() - started < 2
    with reading(second) as reader:
        assert [p.pager_id for p in reader.scalars(select(PersonRow))] == ["bob@corp.example"]
    session.invalidate()  # its connection is gone: nothing to roll back
