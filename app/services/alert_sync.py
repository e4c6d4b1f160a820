"""Alerts acknowledged or closed at the pager, outside Slack, reach the escalation's thread.

Once a minute the alerts of open paged escalations are read back (``Provider.alert_state``, the same call
for Opsgenie, JSM and PagerDuty). An alert closed at the pager closes its escalation (``closed_at``: the
handover stops counting it as open) and its outcome message in the thread says so, buttons gone; one
acknowledged there says so and keeps only Resolve. Each change is claimed with one conditional UPDATE, so
two replicas (or a press racing the read) update the thread once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update

from app.domain import AlertRef, AlertState
from app.model.buttons import EscalationButtons
from app.model.messages import AlertChangedAtPager
from app.providers import ProviderError
from app.runtime import Runtime
from app.services.escalation_thread import page_outcome
from app.store.db import reading
from app.store.models import Escalation

log = logging.getLogger(__name__)

SYNC_JOB = "alert-states"
SYNC_EVERY = timedelta(minutes=1)
WATCHED_FOR = timedelta(days=7)  # an alert still open after a week is left to the people on it
BATCH = 50  # alerts read per run; the next run goes on after the last one read
ALERTED = ("created", "unconfirmed")


@dataclass
class AlertWatch:
    """The job's state between runs: where the last batch ended (the next run goes on from there)."""

    after_id: int = 0

    def run(self, runtime: Runtime, now: datetime) -> int:
        """Read back up to ``BATCH`` open alerts; how many escalations changed."""
        rows = _watched(runtime, now, self.after_id)
        # A short batch reached the end: the next run starts from the oldest again.
        self.after_id = rows[-1].id if len(rows) == BATCH else 0
        changed = 0
        for row in rows:
            if runtime.stopping.is_set():
                break
            try:
                changed += read_back(runtime, row, now)
            except ProviderError as error:  # one pager down must not stop the others' reads
                log.warning("escalation %s: cannot read its alert back: %s", row.event_id, error)
        return changed


def _watched(runtime: Runtime, now: datetime, after_id: int) -> list[Escalation]:
    with reading(runtime.sessions) as session:
        rows = list(
            session.scalars(
                select(Escalation)
                .where(
                    Escalation.id > after_id,
                    Escalation.status.in_(ALERTED),
                    Escalation.closed_at.is_(None),
                    Escalation.outcome_ts.is_not(None),
                    Escalation.created_at > now - WATCHED_FOR,
                )
                .order_by(Escalation.id)
                .limit(BATCH)
            )
        )
        session.expunge_all()
    return rows


def read_back(runtime: Runtime, row: Escalation, now: datetime) -> bool:
    """Read one escalation's alert back and bring the thread up to date; True when it changed."""
    provider = runtime.providers.for_team(row.team)
    if not provider.can_page:
        return False
    state = provider.alert_state(AlertRef(alias=row.alias or "", alert_id=row.alert_id))
    if state is None or state.status == "open":
        return False
    if state.closed:
        won = _claim(runtime, row.id, Escalation.closed_at.is_(None), closed_at=now, updated_at=now)
        keep = None
    elif row.acked_at is None:
        won = _claim(runtime, row.id, Escalation.acked_at.is_(None), acked_at=now, updated_at=now)
        keep = EscalationButtons(row.id, "resolve")
    else:
        return False  # acknowledged here first: the message says so already
    if not won:
        return False  # a press or another replica got there first
    log.info("escalation %s: its alert was %s in %s", row.event_id, state.status, provider.name)
    _tell_thread(runtime, row, state, provider.name, keep)
    return True


def _claim(runtime: Runtime, escalation_id: int, unchanged: ColumnElement[bool], **values: object) -> bool:
    with runtime.sessions.begin() as session:
        result = session.execute(
            update(Escalation).where(Escalation.id == escalation_id, unchanged).values(**values)
        )
    return bool(getattr(result, "rowcount", 0))


def _tell_thread(
    runtime: Runtime, row: Escalation, state: AlertState, pager: str, keep: EscalationButtons | None
) -> None:
    """Rewrite the outcome message: the confirmation, who acknowledged in Slack, what the pager did."""
    language = runtime.config.team_language(row.team)  # the thread is in the team's channel
    outcome = page_outcome(row, pager, language, alert_id=state.alert_id, url=state.url)
    message = AlertChangedAtPager(
        outcome, pager, state.status, by=state.by, acked_by=row.acked_by, keep=keep, language=language
    )
    runtime.slack.try_update(row.channel, row.outcome_ts or "", message)
