"""Transactions mean what they say: one snapshot per transaction, writers queue, readers never wait."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from app.store import db
from app.store.db import make_engine, migrate, session_factory
from app.store.models import PersonRow
from tests.conftest import database_url

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _person(pager_id: str) -> PersonRow:
    return PersonRow(pager_id=pager_id, slack_user_id=None, source="lookup", status="ok", checked_at=NOW)


def _count(session: object) -> int:
    return int(session.scalar(select(func.count()).select_from(PersonRow)) or 0)  # type: ignore[attr-defined]


def test_a_transaction_does_not_see_what_another_thread_commits_meanwhile(tmp_path: Path) -> None:
    engine = make_engine(database_url(tmp_path))  # the same on SQLite and on PostgreSQL
    migrate(engine)
    sessions = session_factory(engine)
    committed = threading.Event()

    def other_worker() -> None:
        with sessions.begin() as session:
            session.add(_person("bob@corp.example"))
        committed.set()

    with sessions.begin() as session:
        before = _count(session)
        worker = threading.Thread(target=other_worker)
        worker.start()
        committed.wait(0.3)  # before the fix it commits in between; now it queues for the write lock
        during = _count(session)
        session.add(_person("alice@corp.example"))
    worker.join(timeout=15)
    assert (before, during) == (0, 0)
    with sessions.begin() as session:
        assert _count(session) == 2  # and the queued writer then got its turn


def test_a_reader_never_waits_for_another_process_holding_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        session.add(_person("alice@corp.example"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process (a `sync` run) holds the write lock
    holder.execute("DELETE FROM people")
    try:
        started = time.monotonic()
        with db.reading(sessions) as session:
            assert _count(session) == 1  # the last committed state, at once
        assert time.monotonic() - started < 1  # not the 10 s busy timeout
    finally:
        holder.execute("ROLLBACK")
        holder.close()
