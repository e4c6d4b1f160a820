"""The bot's Prometheus metrics: one registry per running bot, built by wiring.py, never at import.

No database here: ``run`` builds the metrics (the Slack gateway counts 429s) before SQLAlchemy and the
store are imported; the database's gauges (``metrics_database.py``) are added by ``watch_database``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from app.providers import Provider, ProviderError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from app.services.cycle import TeamReport

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
        from app.metrics_database import DatabaseGauges  # noqa: PLC0415 - SQLAlchemy once the store is open

        self.registry.register(DatabaseGauges(sessions, teams, clock))

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


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
