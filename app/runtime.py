"""The running bot's collaborators, built once by wiring.py and handed to listeners and jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from app.leadership import Leadership
from app.metrics import Metrics
from app.oncall_config import OncallConfig
from app.providers.registry import Providers
from app.slack.background import Background
from app.slack.gateway import SlackGateway
from app.stopping import Stopping
from app.store.leases import Leases
from app.store.pending import PendingInserts
from app.workers import Workers

PAGE_WORKERS = 4


def utc_now() -> datetime:
    """The wall clock in UTC; the default clock of the running bot (tests move it with time-machine)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Runtime:
    """Everything a listener or job may use: config, cache, Slack client, pagers and the clock.

    Frozen: every collaborator is given when it is built (wiring.py), none is patched in later.
    """

    config: OncallConfig
    sessions: sessionmaker[Session]
    slack: SlackGateway  # every Web API call goes through it
    providers: Providers  # each team's pager: runtime.providers.for_team(team)
    # The scheduler the running bot starts (jobs.schedule adds the jobs), and the one way to run one of
    # its jobs now (or ``after`` a while) instead of at its next tick: a no-op until the scheduler runs.
    scheduler: BackgroundScheduler
    wake: Callable[..., None]
    # Whether this replica runs the scheduled jobs; it takes part in the election once the bot starts.
    leadership: Leadership
    clock: Callable[[], datetime] = utc_now
    # Event follow-up work (mention replies, App Home views), kept off Bolt's listener threads.
    background: Background = field(default_factory=Background)
    # This process's leases on shared work (escalations), renewed by a heartbeat while the bot runs.
    leases: Leases = field(default_factory=Leases)
    # Set on SIGTERM (or a fatal condition): backoffs and retries stop waiting, jobs stop taking work.
    stopping: Stopping = field(default_factory=Stopping)
    # Rows the database refused (locked, disk full), kept in memory and stored by the page job's next run.
    unsaved: PendingInserts = field(default_factory=PendingInserts)
    # The bot's own Prometheus registry (wiring.py builds it; served by HEALTH_ADDR's /metrics).
    metrics: Metrics = field(default_factory=Metrics)
    # Seconds to wait before reading Slack back after a post whose outcome is unknown (tests: near 0).
    settle_seconds: float = 3.0
    # The page workers (started with the jobs, app.services.page_queue): a page asked for goes out at
    # once, beside the thread reply. Until they run (the CLI, tests without jobs) the 15-second job pages.
    pages: Workers = field(default_factory=lambda: Workers("page-worker", PAGE_WORKERS))

    def now(self) -> datetime:
        """The current instant as the bot sees it (aware UTC)."""
        return self.clock()
