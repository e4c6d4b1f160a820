"""APScheduler jobs: each coalesces missed runs, never overlaps itself, and never kills the process."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from app.runtime import Runtime
from app.services.cycle import run_cycle
from app.services.escalation_pages import retry_pending_pages
from app.services.usergroups import WritePacer

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


def guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    """Wrap a job so that an exception is logged and the scheduler (and process) go on."""

    def run() -> None:
        try:
            job()
        except Exception:
            log.exception("job %s failed; it runs again at its next time", name)

    return run


def refresh_job(runtime: Runtime, pacer: WritePacer) -> Callable[[], None]:
    """The roster refresh and usergroup sync job, logging a one-line summary per cycle."""

    def run() -> None:
        reports = run_cycle(runtime, runtime.now(), pacer=pacer)
        failed = [r.refresh.team.name for r in reports if r.failed]
        updated = sum(r.sync.action == "updated" for r in reports)
        log.info(
            "cycle: %d team(s), %d group(s) updated, failed: %s",
            len(reports),
            updated,
            ", ".join(failed) or "none",
        )

    return guarded("refresh", run)


def build_scheduler() -> BackgroundScheduler:
    """A background scheduler in UTC with safe job defaults."""
    return BackgroundScheduler(
        timezone=UTC, job_defaults=JOB_DEFAULTS, executors={"default": ThreadPoolExecutor(4)}
    )


def schedule(scheduler: BackgroundScheduler, runtime: Runtime) -> None:
    """Add the bot's recurring jobs to ``scheduler``."""
    log.debug("scheduling jobs for %d team(s)", len(runtime.config.teams))
    scheduler.add_job(
        refresh_job(runtime, WritePacer()),
        IntervalTrigger(minutes=runtime.config.refresh_minutes),
        id="refresh",
        next_run_time=datetime.now(UTC),  # at start, then every refresh_minutes
    )
    scheduler.add_job(
        guarded("escalation-pages", lambda: retry_pending_pages(runtime, runtime.now())),
        IntervalTrigger(seconds=15),
        id="escalation-pages",
    )
