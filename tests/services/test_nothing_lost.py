"""Nothing lost, in-process: pages woken when the pager answers again, and the lease heartbeat that hands
a dead worker's escalation over (the real process is driven in tests/e2e/test_nothing_lost.py)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import select

from app.jobs import refresh_job
from app.runtime import Runtime, utc_now
from app.sandbox import Sandbox
from app.sandbox.world import World
from app.services.escalation_pages import PAGES_JOB, retry_pending_pages
from app.services.escalation_thread import ESCALATION_LEASE
from app.services.usergroups import WritePacer
from app.store.leases import Leases
from app.store.models import Escalation
from tests.conftest import RuntimeFactory
from tests.services.test_escalation import PAGING, escalate
from tests.slack.test_mentions import Clock, alert_posts, rows


def woken_jobs(runtime: Runtime) -> list[str]:
    """Record the jobs the runtime asks the scheduler to run early (there is no scheduler here)."""
    woken: list[str] = []
    runtime.wake = lambda job_id, after=timedelta(0): woken.append(job_id)
    return woken


def test_a_page_in_backoff_is_sent_as_soon_as_the_refresh_sees_the_pager_answer_again(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    clock = Clock(utc_now())
    runtime = make_runtime(PAGING, clock=clock)
    refresh = refresh_job(runtime, WritePacer())
    refresh()
    sandbox.opsgenie.down = True  # a long outage: every try backs off longer (10 s, 20 s, 40 s, 80 s …)
    ts = escalate(runtime, sandbox, "P1 checkout is down", clock.at)
    for _ in range(5):
        [row] = rows(runtime)
        assert row.next_attempt_at is not None
        clock.at = row.next_attempt_at
        assert retry_pending_pages(runtime, clock.at) == 1
    [row] = rows(runtime)
    assert (row.status, row.attempts) == ("pending", 5)
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - clock.at >= timedelta(minutes=2)

    sandbox.opsgenie.down = False
    clock.at += timedelta(seconds=20)
    woken = woken_jobs(runtime)
    refresh()  # the pager answers the refresh again: the page does not wait out its backoff
    assert PAGES_JOB in woken
    assert retry_pending_pages(runtime, clock.at) == 1
    [alert] = sandbox.opsgenie.alerts()
    assert alert["alias"].endswith(ts)
    assert [r.status for r in rows(runtime)] in (["requested"], ["created"])


def test_one_page_through_wakes_the_others_waiting_out_a_backoff(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    clock = Clock(utc_now())
    runtime = make_runtime(PAGING, clock=clock)
    sandbox.opsgenie.down = True
    escalate(runtime, sandbox, "first", clock.at)
    for _ in range(4):
        clock.at = max(r.next_attempt_at for r in rows(runtime) if r.next_attempt_at)
        retry_pending_pages(runtime, clock.at)
    sandbox.opsgenie.down = False
    clock.at += timedelta(seconds=5)
    escalate(runtime, sandbox, "second", clock.at)  # a new mention, while the first waits ~80 s more
    woken = woken_jobs(runtime)
    assert retry_pending_pages(runtime, clock.at) == 1  # the second pages ...
    assert PAGES_JOB in woken  # ... and wakes the job for the first
    assert retry_pending_pages(runtime, clock.at) == 1
    assert len(alert_posts(sandbox)) == 2


def test_the_heartbeat_renews_a_held_lease_and_a_dead_holder_s_lease_runs_out(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(PAGING)
    sandbox.opsgenie.down = True
    escalate(runtime, sandbox, "db down", utc_now())
    [row] = rows(runtime)
    live = Leases(timedelta(seconds=3), interval=timedelta(seconds=0.05))
    dead = Leases(timedelta(seconds=3))
    now = utc_now()
    with runtime.sessions.begin() as session:
        token = live.claim(session, ESCALATION_LEASE, now, Escalation.id == row.id)
    assert token is not None
    with runtime.sessions.begin() as session:  # held: nobody else may take it
        assert dead.claim(session, ESCALATION_LEASE, now, Escalation.id == row.id) is None

    live.start(runtime.sessions, utc_now)
    try:
        with live.holding(ESCALATION_LEASE, token):
            first = expiry(runtime, row.id)
            deadline = time.monotonic() + 5
            while expiry(runtime, row.id) == first and time.monotonic() < deadline:
                time.sleep(0.02)
            assert expiry(runtime, row.id) > first  # renewed by the heartbeat
        renewed = expiry(runtime, row.id)
        time.sleep(0.2)  # several beats: a lease no code holds any more is left to run out
        assert expiry(runtime, row.id) == renewed
    finally:
        live.stop()
    with runtime.sessions.begin() as session:  # one lease later it is free for another process
        assert dead.claim(session, ESCALATION_LEASE, renewed, Escalation.id == row.id) is not None


def expiry(runtime: Runtime, escalation_id: int) -> datetime | None:
    """The escalation's next_attempt_at: its lease's expiry while it is held."""
    with runtime.sessions() as session:
        return session.scalar(select(Escalation.next_attempt_at).where(Escalation.id == escalation_id))
