"""One leader at a time among replicas sharing a database; a dead leader's place is taken within a lease."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker

from app import jobs
from app.leadership import Leadership
from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.world import USERGROUP_ID, World
from app.scheduling import build_scheduler
from app.services.cycle import run_cycle
from app.services.handover import CATCH_UP_DELAY
from app.store.db import make_engine, session_factory
from app.store.leases import Leases
from app.store.startup import open_database
from tests.conftest import RuntimeFactory, database_url
from tests.slack.test_mentions import ALICE

LEASE = timedelta(seconds=30)


class Clock:
    """One wall clock shared by the "replicas" of a test, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class Replica:
    """One process's engine, leases and leadership, on the shared database."""

    def __init__(self, url: str, clock: Clock) -> None:
        self.sessions: sessionmaker[Session] = session_factory(make_engine(url))
        self.leases = Leases(LEASE)
        self.changes: list[bool] = []
        self.registry = CollectorRegistry()
        self.leadership = Leadership(
            self.sessions, self.leases, clock, on_change=self.changes.append, registry=self.registry
        )

    def gauge(self) -> float | None:
        return self.registry.get_sample_value("oncall_leader")

    def beat(self, clock: Clock) -> bool:
        """One beat of the leadership thread: claim, or renew (and so confirm) what it holds."""
        return self.leadership.tick()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def replicas(tmp_path: Path, clock: Clock) -> list[Replica]:
    url = database_url(tmp_path)
    open_database(url).dispose()  # migrated once, as the first replica to start does
    return [Replica(url, clock) for _ in range(3)]


def leaders(replicas: list[Replica]) -> list[int]:
    return [n for n, replica in enumerate(replicas) if replica.leadership.is_leader()]


def test_one_replica_leads_and_keeps_leading_while_it_beats(replicas: list[Replica], clock: Clock) -> None:
    for replica in replicas:
        replica.beat(clock)
    assert leaders(replicas) == [0]
    for _ in range(20):  # ten minutes of beats: nobody else ever takes it
        clock.advance(LEASE / 3)
        for replica in replicas:
            replica.beat(clock)
        assert leaders(replicas) == [0]
    assert replicas[0].changes == [True]
    assert replicas[1].changes == replicas[2].changes == []
    assert replicas[1].leadership.holder() == replicas[0].leases.holder
    assert [replica.gauge() for replica in replicas] == [1.0, 0.0, 0.0]  # /metrics: oncall_leader


def test_a_killed_leader_is_replaced_within_one_lease_and_learns_it_when_it_wakes(
    replicas: list[Replica], clock: Clock
) -> None:
    for replica in replicas:
        replica.beat(clock)
    dead, *alive = replicas  # kill -9: no more beats from the leader
    taken_over_after = None
    for step in range(1, 10):
        clock.advance(LEASE / 3)
        for replica in alive:
            replica.beat(clock)
        if leaders(alive):
            taken_over_after = step * LEASE / 3
            break
    assert taken_over_after is not None
    assert taken_over_after <= LEASE + LEASE / 3  # one lease and a beat
    assert len(leaders(alive)) == 1
    assert not dead.leadership.is_leader()  # its own clock says its lease ran out, without the database
    assert not dead.beat(clock)  # and a frozen process that wakes up finds another holder
    assert dead.changes == [True, False]
    assert len(leaders(replicas)) == 1


def test_a_stopping_leader_hands_over_at_the_next_beat(replicas: list[Replica], clock: Clock) -> None:
    first, second, _ = replicas
    first.beat(clock)
    second.beat(clock)
    first.leadership.stop()
    assert not first.leadership.is_leader()
    clock.advance(timedelta(seconds=1))  # long before the lease would have run out
    assert second.beat(clock)
    assert leaders(replicas) == [1]


def test_a_leader_cut_off_from_the_database_stops_leading_when_its_lease_ends(
    replicas: list[Replica], clock: Clock
) -> None:
    first = replicas[0]
    first.beat(clock)
    first.sessions.kw["bind"].dispose()
    first.sessions.configure(bind=make_engine("postgresql+psycopg://bot@127.0.0.1:1/gone"))  # refused
    clock.advance(LEASE / 3)
    assert first.beat(clock)  # the last expiry it read is still ahead: it may go on for now
    clock.advance(LEASE)
    assert not first.beat(clock)
    assert first.changes == [True, False]


def _scheduled(runtime: Runtime) -> BackgroundScheduler:
    """The bot's own jobs on a scheduler that is not started: a test runs a job by calling it."""
    scheduler = build_scheduler()
    jobs.schedule(scheduler, runtime)
    return scheduler


def _run(scheduler: BackgroundScheduler, job_id: str) -> None:
    job = scheduler.get_job(job_id)
    assert job is not None
    job.func()


def schedule_reads(sandbox: Sandbox) -> int:
    return len(sandbox.opsgenie.requests("/v2/schedules/"))


def test_only_the_leader_refreshes_and_once_per_interval_across_replicas(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory, clock: Clock
) -> None:
    clock.now = world.rotation_start.astimezone(UTC) + timedelta(days=1)
    first, second = make_runtime(world.config_text, clock=clock), make_runtime(world.config_text, clock=clock)
    for runtime in (first, second):
        runtime.leadership.tick()
    assert first.leadership.is_leader()
    schedulers = [_scheduled(first), _scheduled(second)]

    _run(schedulers[1], jobs.REFRESH_JOB)  # a follower's tick reads nothing
    assert schedule_reads(sandbox) == 0
    _run(schedulers[0], jobs.REFRESH_JOB)
    one_refresh = schedule_reads(sandbox)
    assert one_refresh > 0
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [ALICE]  # the first week's person

    clock.advance(timedelta(minutes=2))  # a new leader (or a restart) two minutes later: not due yet
    first.leadership.stop()
    assert second.leadership.tick()
    _run(schedulers[1], jobs.REFRESH_JOB)
    assert schedule_reads(sandbox) == one_refresh
    clock.advance(timedelta(minutes=3))  # one interval (5 minutes) after the last read
    assert second.leadership.leading()  # a lapsed lease nobody took over is renewed, not skipped
    _run(schedulers[1], jobs.REFRESH_JOB)
    assert schedule_reads(sandbox) > one_refresh


def test_a_new_leader_wakes_the_refresh_for_when_it_is_due_the_shifts_now_and_the_catch_up_soon(
    world: World, make_runtime: RuntimeFactory, clock: Clock
) -> None:
    clock.now = world.rotation_start.astimezone(UTC) + timedelta(days=1)
    runtime = make_runtime(world.config_text, clock=clock)
    run_cycle(runtime, clock() - timedelta(minutes=1))  # the previous leader's last refresh
    woken: dict[str, timedelta] = {}
    runtime = replace(runtime, wake=lambda job_id, after=timedelta(0): woken.setdefault(job_id, after))
    jobs.on_leadership(runtime)(True)
    assert woken == {
        jobs.REFRESH_JOB: timedelta(minutes=4),
        jobs.CATCH_UP_JOB: CATCH_UP_DELAY,
        jobs.SHIFTS_JOB: timedelta(0),  # reminders and follow-ups the old leader left are due now
    }


def test_a_stopping_leader_keeps_its_lease_while_a_job_of_its_own_runs_and_starts_none_after(
    replicas: list[Replica], clock: Clock
) -> None:
    first, second, _ = replicas
    first.beat(clock)
    with first.leadership.running_job() as starts:
        assert starts
        assert not first.leadership.hand_over()  # the job still runs: its lease runs out for the next one
        assert first.leadership.is_leader()
    assert first.leadership.hand_over()  # nothing runs any more (a page in flight is no leader's job)
    with first.leadership.running_job() as starts:
        assert not starts  # given back: no job of the old leader's starts now
    clock.advance(timedelta(seconds=1))
    assert second.beat(clock)
    assert leaders(replicas) == [1]
