"""The bot's scheduler, and the one way to run a scheduled job early: built with the runtime, up front."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


def build_scheduler() -> BackgroundScheduler:
    """A background scheduler in UTC with safe job defaults (no thread runs until it is started)."""
    return BackgroundScheduler(
        timezone=UTC, job_defaults=JOB_DEFAULTS, executors={"default": ThreadPoolExecutor(4)}
    )


class Wake:
    """Make a scheduled job run now or soon (a run already going on is not doubled).

    Until the scheduler runs (the CLI, tests that drive jobs by hand) there is no job to wake: a no-op.
    """

    def __init__(self, scheduler: BackgroundScheduler) -> None:
        self._scheduler = scheduler

    def __call__(self, job_id: str, after: timedelta = timedelta(0)) -> None:
        """Run ``job_id`` ``after`` from now, unless it would run sooner anyway."""
        if not self._scheduler.running:
            return
        at = datetime.now(UTC) + after
        try:
            job = self._scheduler.get_job(job_id)
            if job is None:
                raise JobLookupError(job_id)
            if job.next_run_time is None or job.next_run_time > at:  # never later than it would run anyway
                self._scheduler.modify_job(job_id, next_run_time=at)
        except JobLookupError:
            log.warning("no job %s to wake", job_id)
