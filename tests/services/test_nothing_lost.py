"""Pages waiting out a backoff are sent as soon as the pager answers again (the clock moved by hand)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.jobs import refresh_job
from app.runtime import Runtime, utc_now
from app.sandbox import Sandbox
from app.sandbox.world import World
from app.services.escalation_pages import PAGES_JOB, retry_pending_pages
from app.services.usergroups import WritePacer
from tests.conftest import RuntimeFactory
from tests.services.test_escalation import PAGING, escalate
from tests.slack.test_mentions import Clock, alert_posts, rows


def woken_jobs(runtime: Runtime) -> tuple[Runtime, list[str]]:
    """The runtime again, recording the jobs it asks the scheduler to run early (there is no scheduler)."""
    woken: list[str] = []
    return replace(runtime, wake=lambda job_id, after=timedelta(0): woken.append(job_id)), woken


def test_a_page_in_backoff_is_sent_as_soon_as_the_refresh_sees_the_pager_answer_again(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    clock = Clock(utc_now())
    runtime = make_runtime(PAGING, clock=clock)
    pacer = WritePacer()
    refresh_job(runtime, pacer)()
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
    runtime, woken = woken_jobs(runtime)
    # The pager answers the refresh again: the page does not wait out its backoff.
    refresh_job(runtime, pacer)()
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
    runtime, woken = woken_jobs(runtime)
    assert retry_pending_pages(runtime, clock.at) == 1  # the second pages ...
    assert PAGES_JOB in woken  # ... and wakes the job for the first
    assert retry_pending_pages(runtime, clock.at) == 1
    assert len(alert_posts(sandbox)) == 2
