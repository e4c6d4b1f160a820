"""A steady cycle's database work is a few statements for every team together, not a few per team."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.runtime import Runtime
from app.sandbox import Sandbox
from app.services.cycle import run_cycle
from app.services.roster import HISTORY, HORIZON
from app.store import cycle_rows
from app.store.models import ShiftRow
from tests.conftest import RuntimeFactory
from tests.db_watch import statements_sent
from tests.services.test_resync import TEAMS, seed

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
WRITE_BEGINS = ("BEGIN IMMEDIATE", "pg_advisory_xact_lock")  # how a writer begins on SQLite / PostgreSQL


def statements(runtime: Runtime) -> AbstractContextManager[list[str]]:
    """Every statement the bot sends to the database meanwhile (BEGINs included)."""
    return statements_sent(runtime)


def test_a_steady_cycle_sends_as_many_statements_for_twelve_teams_as_for_one(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(seed(sandbox, NOW - timedelta(days=1)))
    reports = run_cycle(runtime, NOW)
    assert all(r.sync.action == "updated" for r in reports)
    run_cycle(runtime, NOW + timedelta(minutes=5))  # the first steady cycle records "unchanged"
    with statements(runtime) as alone:
        [report] = run_cycle(runtime, NOW + timedelta(minutes=10), teams=runtime.config.teams[:1])
    assert report.sync.action == "unchanged"
    with statements(runtime) as together:
        reports = run_cycle(runtime, NOW + timedelta(minutes=15))
    assert len(reports) == TEAMS
    assert {r.sync.action for r in reports} == {"unchanged"}
    assert len(together) == len(alone) <= 25
    # Two short write transactions: the pager's answers, then the sync records.
    assert sum(any(begin in s for begin in WRITE_BEGINS) for s in together) == 2
    sandbox.slack.clear_requests()
    sandbox.opsgenie.clear_requests()
    run_cycle(runtime, NOW + timedelta(minutes=20))
    assert [r.method for r in sandbox.slack.requests()] == ["usergroups.list"]
    assert len(sandbox.opsgenie.requests()) == TEAMS  # one pager call per team


def test_a_first_cycle_stores_every_timeline_whole_in_bounded_inserts(
    sandbox: Sandbox, make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cycle_rows, "INSERT_BATCH", 7)  # ~40 shifts in all: several batches, one partial
    runtime = make_runtime(seed(sandbox, NOW - timedelta(days=1)))
    with statements_sent(runtime, "INSERT INTO shifts") as inserts:
        reports = run_cycle(runtime, NOW)
    assert all(r.refresh.timeline_read for r in reports)
    expected = {
        (team.name, s.person, s.start, s.end, s.layer)
        for team in runtime.config.teams
        for s in runtime.providers.for_team(team).shifts(team.schedule, NOW - HISTORY, NOW + HORIZON)
    }
    with runtime.sessions() as session:
        columns = (ShiftRow.team, ShiftRow.person, ShiftRow.start, ShiftRow.end, ShiftRow.layer)
        stored = [tuple(row) for row in session.execute(select(*columns))]
    assert len(stored) == len(set(stored))  # none twice
    assert set(stored) == expected
    assert len(inserts) == -(-len(expected) // 7) > 1  # each insert binds at most a batch
