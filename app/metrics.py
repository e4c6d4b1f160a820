"""The bot's Prometheus metrics: one registry per running bot, built by wiring.py, never at import."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.providers import Provider, ProviderError
from app.store.models import Escalation, TeamState

if TYPE_CHECKING:
    from app.services.cycle import TeamReport

log = logging.getLogger(__name__)

# Slack wants an ack within 3 s; the buckets are dense below that.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


class Metrics:
    """Counters and histograms the bot records as it works, and the registry /metrics serves."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ack_seconds = Histogram(
            "oncall_ack_seconds",
            "Time from receiving a Socket Mode envelope to sending its ack, by slash command or event type.",
            ["command"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.refreshes = Counter(
            "oncall_refresh",
            "Pager refreshes per team, by result (ok, failed).",
            ["team", "result"],
            registry=r,
        )
        self.syncs = Counter(
            "oncall_sync",
            "Usergroup syncs per team, by result (unchanged, updated, skipped_empty, failed, ...).",
            ["team", "result"],
            registry=r,
        )
        self.usergroup_writes = Counter(
            "oncall_usergroup_writes",
            "usergroups.users.update calls that changed a team's group.",
            ["team"],
            registry=r,
        )
        self.pager_errors = Counter(
            "oncall_pager_errors", "Failed pager calls, by kind of failure.", ["kind"], registry=r
        )
        self.slack_ratelimited = Counter(
            "oncall_slack_ratelimited",
            "HTTP 429 answers from the Slack Web API, by method.",
            ["method"],
            registry=r,
        )

    def slack_ratelimited_method(self, method: str) -> None:
        """Count one HTTP 429 from Slack's ``method``."""
        self.slack_ratelimited.labels(method=method).inc()

    def acked(self, command: str, seconds: float) -> None:
        """Record one ack's latency."""
        self.ack_seconds.labels(command=command).observe(seconds)

    def cycle(self, reports: Iterable[TeamReport]) -> None:
        """Record one refresh-and-sync cycle's results per team."""
        for report in reports:
            team = report.refresh.team.name
            self.refreshes.labels(team=team, result="ok" if report.refresh.ok else "failed").inc()
            self.syncs.labels(team=team, result=report.sync.action).inc()
            if report.sync.action == "updated":
                self.usergroup_writes.labels(team=team).inc()

    def watch_database(
        self, sessions: sessionmaker[Session], teams: Sequence[str], clock: Callable[[], datetime]
    ) -> None:
        """Serve the outbox depth and each team's refresh age, read from the database at each scrape."""
        self.registry.register(_DatabaseGauges(sessions, teams, clock))

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class _DatabaseGauges(Collector):
    """Gauges read from the database when scraped: every replica reports what the database knows."""

    def __init__(self, sessions: sessionmaker[Session], teams: Sequence[str], clock: Callable[[], datetime]):
        self._sessions, self._teams, self._clock = sessions, list(teams), clock

    def describe(self) -> Iterable[Metric]:
        """No fixed description: the values come from the database (keeps registration query-free)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The outbox depth and refresh ages; nothing (and a warning) while the database cannot be read."""
        try:
            with self._sessions() as session:
                depth = session.scalar(
                    select(func.count())
                    .select_from(Escalation)
                    .where(Escalation.next_attempt_at.is_not(None))
                )
                rows = session.execute(select(TeamState.team, TeamState.last_success_at)).all()
            refreshed: dict[str, datetime | None] = {row[0]: row[1] for row in rows}
        except SQLAlchemyError as error:
            log.warning("metrics: the database cannot be read: %s", error)
            return
        outbox = GaugeMetricFamily(
            "oncall_outbox_depth", "Escalations with work left (a thread reply or a page still to send)."
        )
        outbox.add_metric([], float(depth or 0))
        yield outbox
        age = GaugeMetricFamily(
            "oncall_last_refresh_age_seconds",
            "Seconds since the team's last successful pager refresh (by any replica).",
            labels=["team"],
        )
        now = self._clock()
        for team in self._teams:
            at = refreshed.get(team)
            if at is not None:
                age.add_metric([team], max(0.0, (now - at).total_seconds()))
        yield age


class MeteredProvider:
    """A provider whose failed calls are counted by kind; everything else passes straight through."""

    def __init__(self, inner: Provider, metrics: Metrics) -> None:
        self._inner, self._metrics = inner, metrics

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(*args, **kwargs)
            except ProviderError as error:
                self._metrics.pager_errors.labels(kind=type(error).__name__).inc()
                raise

        return counted
