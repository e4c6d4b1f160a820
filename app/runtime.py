"""The running bot's collaborators, built once by wiring.py and handed to listeners and jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from app.config import OncallConfig
from app.metrics import Metrics
from app.providers.registry import Providers
from app.slack.background import Background


def _no_scheduler(job_id: str) -> None:
    """Without a running scheduler (CLI, tests) there is no job to wake."""


def utc_now() -> datetime:
    """The wall clock in UTC; the default clock of the running bot (tests move it with time-machine)."""
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Everything a listener or job may use: config, cache, Slack client, pagers and the clock."""

    config: OncallConfig
    sessions: sessionmaker[Session]
    slack: WebClient
    providers: Providers  # each team's pager: runtime.providers.for_team(team)
    clock: Callable[[], datetime] = utc_now
    bot_user_id: str | None = None
    # Event follow-up work (mention replies, App Home views), kept off Bolt's listener threads.
    background: Background = field(default_factory=Background)
    # Run a scheduled job now instead of at its next tick (set by jobs.schedule when the scheduler runs).
    wake: Callable[[str], None] = _no_scheduler
    # The bot's own Prometheus registry (wiring.py builds it; served by HEALTH_ADDR's /metrics).
    metrics: Metrics = field(default_factory=Metrics)
    # Seconds to wait before reading Slack back after a post whose outcome is unknown (tests: near 0).
    settle_seconds: float = 3.0

    def now(self) -> datetime:
        """The current instant as the bot sees it (aware UTC)."""
        return self.clock()
