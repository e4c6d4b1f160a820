"""How every scheduled job runs: guarded (a failure is logged, never kills the process), counted as work in
flight (a stop waits for it, and skips runs once stopping), and on the replica that leads unless it must run
everywhere (app/leadership.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.runtime import Runtime

log = logging.getLogger(__name__)


def guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    """Wrap a job so that an exception is logged and the scheduler (and process) go on."""

    def run() -> None:
        try:
            job()
        except Exception:
            log.exception("job %s failed; it runs again at its next time", name)

    return run


def leader_only(runtime: Runtime, name: str, job: Callable[[], object]) -> Callable[[], None]:
    """Run ``job`` only on the replica that leads the scheduled jobs (app/leadership.py)."""

    def run() -> None:
        leadership = runtime.leadership
        with leadership.running_job() as starts:  # counted first: a stop hands over only once none runs
            if not starts:
                log.debug("job %s: this replica is giving the leadership back", name)
                return
            if leadership.engaged and not leadership.leading():
                log.debug("job %s: another replica leads the scheduled jobs", name)
                return
            job()

    return run


def tracked(runtime: Runtime, job: Callable[[], object]) -> Callable[[], None]:
    """Count a job run as work in flight (for a bounded stop); once stopping, runs are skipped."""

    def run() -> None:
        if runtime.stopping.is_set():
            return
        with runtime.stopping.working():
            job()

    return run


def adder(scheduler: BackgroundScheduler, runtime: Runtime) -> Callable[..., None]:
    """``add(job_id, job, trigger, everywhere=False, first=None)``: a job counted as work in flight, run on
    the leader only unless ``everywhere``, first at ``first`` (else when its trigger says)."""

    def add(
        job_id: str,
        job: Callable[[], object],
        trigger: BaseTrigger,
        *,
        everywhere: bool = False,
        first: datetime | None = None,
    ) -> None:
        run = job if everywhere else leader_only(runtime, job_id, job)
        when: dict[str, Any] = {"next_run_time": first} if first is not None else {}
        scheduler.add_job(tracked(runtime, run), trigger, id=job_id, **when)

    return add


def every(period: timedelta) -> IntervalTrigger:
    """A trigger every ``period``."""
    return IntervalTrigger(seconds=period.total_seconds())
