"""The one composition root: builds clients, the cache, services, the Bolt app and the scheduler.

`run` imports this module only once its Socket Mode connection is open (``app/run.py``).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from apscheduler.schedulers.background import BackgroundScheduler

from app import i18n, jobs
from app.config import Settings, StartupError
from app.health import HealthServer, Readiness
from app.leadership import Leadership
from app.link import Link, bot_user_id, open_socket, require_credentials
from app.metrics import MeteredProvider, Metrics
from app.oncall_config import OncallConfig
from app.providers import Provider
from app.providers.registry import Builder, Providers, kind_of, known_kinds
from app.runtime import Runtime, utc_now
from app.scheduling import Wake, build_scheduler
from app.slack.app import build_bolt_app
from app.slack.gateway import SlackGateway
from app.slack.socket_mode import SocketModeConnection
from app.stopping import Stopping
from app.store.db import session_factory
from app.store.leases import Leases
from app.store.startup import DatabaseUnusable, open_database

log = logging.getLogger(__name__)


def build_providers(
    settings: Settings, config: OncallConfig, *, builders: Mapping[str, Builder] | None = None
) -> Providers:
    """Every team's provider from the registry; ConfigError naming the env var a provider in use lacks."""
    require_credentials(settings, config)
    return Providers(settings, config.teams, builders=builders)


def build_runtime(
    settings: Settings,
    config: OncallConfig,
    *,
    clock: Callable[[], datetime] = utc_now,
    builders: Mapping[str, Builder] | None = None,
    stopping: Stopping | None = None,
    slack: SlackGateway | None = None,
    metrics: Metrics | None = None,
) -> Runtime:
    """Create the engine (migrated to the latest schema), clients and the runtime bag.

    ``builders`` replaces the registry's builder of a provider kind (tests use a fast-failing client);
    ``slack`` and ``metrics`` are the ones `run` opened its connection with (built here otherwise).
    """
    metrics = metrics or Metrics()
    stopping = stopping or Stopping()
    providers = build_providers(settings, config, builders=metered(builders, metrics))
    for provider in providers.all():
        interrupt_on = getattr(provider, "interrupt_on", None)  # a pager client that retries and waits
        if interrupt_on is not None:
            interrupt_on(stopping)
    try:
        engine = open_database(settings.database_url)
    except DatabaseUnusable as error:
        raise StartupError(str(error)) from None
    sessions = session_factory(engine)
    metrics.watch_database(sessions, [team.name for team in config.teams], clock)
    scheduler = build_scheduler()
    leases = Leases(timedelta(seconds=settings.lease_seconds))
    return Runtime(
        config=config,
        sessions=sessions,
        slack=slack or SlackGateway.running(settings, metrics, stopping),
        providers=providers,
        scheduler=scheduler,
        wake=Wake(scheduler),
        leadership=Leadership(sessions, leases, clock, registry=metrics.registry),
        clock=clock,
        metrics=metrics,
        leases=leases,
        stopping=stopping,
    )


def metered(builders: Mapping[str, Builder] | None, metrics: Metrics) -> dict[str, Builder]:
    """Every provider kind's builder (a test's own where given), its providers' failures counted."""
    chosen = {kind: (builders or {}).get(kind, kind_of(kind).build) for kind in known_kinds()}

    def wrap(build: Builder) -> Builder:
        return lambda s, team: cast(Provider, MeteredProvider(build(s, team), metrics))

    return {kind: wrap(build) for kind, build in chosen.items()}


@dataclass
class RunningBot:
    """A started bot: Socket Mode connection plus scheduler; ``stop()`` ends both."""

    runtime: Runtime
    bot_user_id: str  # who the bot token belongs to (auth.test at connect)
    handler: SocketModeConnection
    scheduler: BackgroundScheduler
    health: HealthServer | None = None

    def stop(self, timeout: float | None = None) -> bool:
        """Stop taking work, then let work in flight finish (within ``timeout`` s); True when it all did.

        Waits on the pager or Slack (backoffs, Retry-After) end at once; what is still running after
        ``timeout`` is left behind: its leases run out and the next start takes it over.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        self.runtime.stopping.stop()
        if self.health is not None:
            self.health.stop()
        self.handler.close()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.runtime.pages.stop()
        left = self.runtime.stopping.drain(_left(deadline))
        finished = self.runtime.background.shutdown(_left(deadline)) and not left
        # No scheduled job of ours runs any more (pages and replies still in flight run on every replica,
        # under their own leases): another replica may lead now, at its next beat.
        self.runtime.leadership.hand_over()
        self.runtime.leases.stop()
        if finished:
            self.runtime.providers.close()
            log.info("oncall-bot stopped")
        else:
            log.warning("oncall-bot stopped with work in flight; it is taken over at the next start")
        return finished


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _connect(settings: Settings, runtime: Runtime, link: Link | None) -> tuple[SocketModeConnection, str]:
    """The Socket Mode connection answering with the Bolt app, and the bot's user id.

    With ``link`` (`run`: opened before the runtime existed) the app is attached to its connection, and
    the envelopes waiting since hello are answered now; otherwise the token is checked and the
    connection opened.
    """
    if link is not None:
        link.connection.attach(build_bolt_app(runtime, link.bot_user_id))
        return link.connection, link.bot_user_id
    user = bot_user_id(runtime.slack)
    return open_socket(settings, runtime.slack, runtime.metrics, build_bolt_app(runtime, user)), user


def start_bot(
    settings: Settings, runtime: Runtime, *, start_jobs: bool = True, link: Link | None = None
) -> RunningBot:
    """Connect over Socket Mode (or answer on ``link``'s connection) and start the jobs and page workers."""
    # HEALTH_ADDR is bound before anything starts: a port in use stops the bot before it pages, leads or
    # holds a lease (started first, it ran a cycle and exited holding its leases until they expired).
    health = _bind_health(settings, runtime) if settings.health_addr else None
    try:
        running = _start(settings, runtime, start_jobs=start_jobs, link=link)
    except BaseException:
        if health is not None:
            health.stop()
        raise
    if health is not None:
        running.health = health.start(_readiness(runtime, running.handler))
    return running


def _start(settings: Settings, runtime: Runtime, *, start_jobs: bool, link: Link | None) -> RunningBot:
    if start_jobs:
        runtime.pages.start()  # before the first event can ask for a page
    handler, bot_user_id = _connect(settings, runtime, link)
    scheduler = runtime.scheduler
    runtime.leases.start(runtime.sessions, runtime.now)
    if start_jobs:
        # Only the leader among the replicas sharing the database runs the scheduled jobs (not the pages);
        # until its first beat this process does not lead, so no job can run before that is settled.
        runtime.leadership.take_part(jobs.on_leadership(runtime))
        jobs.schedule(scheduler, runtime)
        scheduler.start()
        runtime.leadership.start()  # a new leader wakes the refresh when due (at once on a new database)
    # The teams' languages are read now: a first /oncall must not wait for Babel and a catalog.
    i18n.warm([runtime.config.language, *(team.language for team in runtime.config.teams)])
    # Everything built so far lives as long as the process: freezing it keeps full garbage collections
    # (~50 ms over ~100k objects, measured by bench/ack.py) from landing inside a 3-second ack.
    gc.collect()
    gc.freeze()
    log.info("oncall-bot connected over Socket Mode with %d team(s)", len(runtime.config.teams))
    return RunningBot(runtime, bot_user_id, handler, scheduler)


def _bind_health(settings: Settings, runtime: Runtime) -> HealthServer:
    """HEALTH_ADDR's server, bound but not serving yet; a port in use stops the bot with one sentence."""
    try:
        return HealthServer(str(settings.health_addr), runtime.metrics)
    except OSError as error:
        raise StartupError(f"cannot serve HEALTH_ADDR {settings.health_addr}: {error.strerror}") from None


def _readiness(runtime: Runtime, handler: SocketModeConnection) -> Readiness:
    """What /readyz checks for this bot: its connection, its database, its last refresh."""
    return Readiness(
        connected=handler.is_connected,
        sessions=runtime.sessions,
        refresh_minutes=runtime.config.refresh_minutes,
        clock=runtime.clock,
    )
