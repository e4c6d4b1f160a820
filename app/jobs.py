"""APScheduler jobs: each coalesces missed runs, never overlaps itself, and never kills the process."""

from __future__ import annotations

import logging
from datetime import UTC

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from app.runtime import Runtime

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


def build_scheduler() -> BackgroundScheduler:
    """A background scheduler in UTC with safe job defaults."""
    return BackgroundScheduler(
        timezone=UTC, job_defaults=JOB_DEFAULTS, executors={"default": ThreadPoolExecutor(4)}
    )


def schedule(scheduler: BackgroundScheduler, runtime: Runtime) -> None:
    """Add the bot's recurring jobs to ``scheduler``."""
    log.debug("scheduling jobs for %d team(s)", len(runtime.config.teams))
