"""The metrics read from the database at each scrape (outbox depth, refresh ages): every replica's view."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.store.models import Escalation, TeamState

log = logging.getLogger(__name__)


class DatabaseGauges(Collector):
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
