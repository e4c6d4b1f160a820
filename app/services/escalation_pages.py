"""The background side of escalation: post what the thread misses, create the alert, follow it, retry.

The listener only records the escalation and replies; everything that may wait on the pager happens here,
in the 15-second job. A row has work left while its ``next_attempt_at`` is set. A worker first leases a due
row by moving that time forward (a conditional UPDATE), so two replicas never work the same escalation at
once; each page step is a transition guarded by the current status, and each thread post is stored only
where none is stored yet. Opsgenie's alias makes a repeated create harmless on top of that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.domain import AlertRequest, AlertStatus, Team
from app.providers import ProviderError
from app.runtime import Runtime
from app.services.escalation_thread import MAX_ATTEMPTS, permalink_of, post_outcome, post_reply
from app.store.models import Escalation, SlackUser

log = logging.getLogger(__name__)

PAGES_JOB = "escalation-pages"  # the scheduler job that runs retry_pending_pages

Clock = Callable[[], datetime]

# Statuses that count against a user's page limit; those the pager still has to act on; the final ones.
PAGED_STATUSES = ("pending", "requested", "created")
ACTIVE_STATUSES = ("pending", "requested")
OUTCOME_STATUSES = ("created", "failed")
# How long a worker owns an escalation it is working on; after that (a crash) another may take it over.
LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(minutes=5)
# A created alert request not yet processed is asked about again this soon.
FOLLOW_AGAIN = timedelta(seconds=5)
# Opsgenie usually processes a request within a second: one short wait saves a 15-second round trip.
JOB_PAUSES: tuple[float, ...] = (0.5,)
BATCH = 20
MESSAGE_LIMIT = 130


def backoff(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: 10 s, 20 s, 40 s … capped at 5 minutes."""
    # The exponent is capped too: 10 s * 2**49 would overflow timedelta long before MAX_ATTEMPTS.
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 16), MAX_RETRY)


def build_alert(row: Escalation, team: Team, *, reporter: str, permalink: str | None) -> AlertRequest:
    """The pager alert for an escalation: enough to act on it and to find the Slack thread."""
    fallback = f"Escalation from Slack for team {team.name}"
    message = " ".join(row.text.split())[:MESSAGE_LIMIT].rstrip() or fallback
    where = f"Thread: {permalink}" if permalink else "Slack gave no permalink for the message."
    description = f"{row.text}\n\nReported in Slack by {reporter} in channel {row.channel}.\n{where}"
    details = {
        "channel": row.channel,
        "ts": row.message_ts,
        "thread_ts": row.thread_ts,
        "user": row.user_id,
        "team": team.name,
    }
    if permalink:
        details["permalink"] = permalink
    return AlertRequest(
        message=message,
        description=description,
        alias=row.alias or f"slack-{row.channel}-{row.message_ts}",
        schedule=team.schedule,
        priority=row.priority,
        tags=("oncall-bot", "slack", team.name),
        details=details,
    )


def _reporter(session: Session, user_id: str) -> str:
    user = session.get(SlackUser, user_id)
    return f"{user.name} ({user_id})" if user is not None and user.name else user_id


def _transition(session: Session, escalation_id: int, expected: str, now: datetime, **values: Any) -> bool:
    """Change the row only if it still has status ``expected``; True when this worker did it."""
    with session.begin():
        result = session.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.status == expected)
            .values(updated_at=now, **values)
        )
    return bool(getattr(result, "rowcount", 0))


def _load(session: Session, escalation_id: int) -> Escalation:
    with session.begin():
        return session.execute(
            select(Escalation).where(Escalation.id == escalation_id).execution_options(populate_existing=True)
        ).scalar_one()


def _retry_later(session: Session, row: Escalation, error: str, now: datetime, **extra: Any) -> datetime:
    """Count a failed pager call; the time of the next try."""
    attempts = row.attempts + 1
    _transition(session, row.id, row.status, now, attempts=attempts, last_error=error, **extra)
    log.warning("page of escalation %s will be retried (attempt %d): %s", row.event_id, attempts, error)
    return now + backoff(attempts)


def _fail(session: Session, row: Escalation, reason: str, now: datetime, **extra: Any) -> None:
    """Give a page that has no alert up for good; the thread hears it from ``post_outcome``."""
    if _transition(
        session, row.id, row.status, now, status="failed", last_error=reason, resolved_at=now, **extra
    ):
        log.error("page of escalation %s failed: %s", row.event_id, reason)


def _give_up_or_retry(
    session: Session, row: Escalation, exc: ProviderError, now: datetime, **extra: Any
) -> datetime | None:
    if not exc.retryable or row.attempts + 1 >= MAX_ATTEMPTS:
        _fail(session, row, str(exc), now, **extra)
        return None
    return _retry_later(session, row, str(exc), now, **extra)


def _create(runtime: Runtime, session: Session, row: Escalation, team: Team, clock: Clock) -> datetime | None:
    """Ask the pager for the alert; when to try again, or None once it is requested (or failed)."""
    permalink = row.permalink or permalink_of(runtime, row.channel, row.message_ts)
    with session.begin():
        reporter = _reporter(session, row.user_id)
    alert = build_alert(row, team, reporter=reporter, permalink=permalink)
    try:
        request_id = runtime.provider.create_alert(alert)
    except ProviderError as exc:
        return _give_up_or_retry(session, row, exc, clock(), permalink=permalink)
    now = clock()
    _transition(
        session,
        row.id,
        "pending",
        now,
        status="requested",
        alert_request_id=request_id,
        attempts=row.attempts + 1,
        last_error=None,
        permalink=permalink,
        next_attempt_at=now + LEASE,  # the create may have been slow: the lease runs from here
    )
    return None


def _poll(runtime: Runtime, request_id: str, pauses: Sequence[float]) -> AlertStatus:
    status = runtime.provider.alert_status(request_id)
    for pause in pauses:
        if status.done:
            break
        time.sleep(pause)
        status = runtime.provider.alert_status(request_id)
    return status


def _follow(
    runtime: Runtime, session: Session, row: Escalation, clock: Clock, pauses: Sequence[float]
) -> datetime | None:
    """Ask how the alert request went; the alert's id makes the row ``created`` for good."""
    try:
        status = _poll(runtime, row.alert_request_id or "", pauses)
    except ProviderError as exc:
        return _give_up_or_retry(session, row, exc, clock())
    now = clock()
    if not status.done:
        return now + FOLLOW_AGAIN
    if not status.success or not status.alert_id:
        reason = f"{runtime.provider.name} did not create the alert ({status.message})"
        _fail(session, row, reason, now)
        return None
    if _transition(
        session,
        row.id,
        "requested",
        now,
        status="created",
        alert_id=status.alert_id,
        last_error=None,
        resolved_at=now,
    ):
        log.info("escalation %s paged: alert %s", row.event_id, status.alert_id)
    return None


def _page(
    runtime: Runtime, session: Session, row: Escalation, clock: Clock, pauses: Sequence[float]
) -> datetime | None:
    """Move the page as far as the pager lets it; when to look again (None: nothing left to do)."""
    if row.status not in ACTIVE_STATUSES:
        return None
    team = runtime.config.team(row.team)
    if team is None:
        _fail(session, row, f"team {row.team!r} is no longer in the config", clock())
        return None
    if row.status == "pending":
        again = _create(runtime, session, row, team, clock)
        row = _load(session, row.id)
        if row.status != "requested":
            return again
    return _follow(runtime, session, row, clock, pauses)


def _outcome_missing(row: Escalation) -> bool:
    # The outcome follows the reply, so the thread reads in order; a reply given up takes it along.
    return row.status in OUTCOME_STATUSES and row.reply_ts is not None and row.outcome_ts is None


def _posts_left(row: Escalation) -> bool:
    missing = row.reply_ts is None or _outcome_missing(row)
    return missing and row.post_attempts < MAX_ATTEMPTS


def advance(
    runtime: Runtime,
    session: Session,
    escalation_id: int,
    clock: Clock,
    *,
    pauses: Sequence[float] = JOB_PAUSES,
) -> str:
    """Do what one leased escalation still needs: thread reply, page, the page's outcome; its status."""
    row = _load(session, escalation_id)
    if row.reply_ts is None and row.post_attempts < MAX_ATTEMPTS:
        post_reply(runtime, session, row, clock())
        row = _load(session, escalation_id)
    again = _page(runtime, session, row, clock, pauses)
    row = _load(session, escalation_id)
    if _outcome_missing(row) and row.post_attempts < MAX_ATTEMPTS:
        post_outcome(runtime, session, row, clock())
        row = _load(session, escalation_id)
    now = clock()
    due = [again or now + FIRST_RETRY] if row.status in ACTIVE_STATUSES else []
    if _posts_left(row):
        due.append(now + backoff(row.post_attempts))
    with session.begin():
        session.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id)
            .values(next_attempt_at=min(due) if due else None)
        )
    return row.status


def _lease(session: Session, escalation_id: int, now: datetime) -> bool:
    """Take a due escalation for ``LEASE``; False when another worker took it first."""
    with session.begin():
        result = session.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE)
        )
    return bool(getattr(result, "rowcount", 0))


def retry_pending_pages(runtime: Runtime, now: datetime) -> int:
    """The background job: work on every due escalation (thread posts, pages); return how many.

    ``now`` is when the run starts; each escalation reads the clock again (``now`` plus how far the
    runtime's clock has moved since), so leases and backoffs stay true while the pager is slow. Work
    left by a crashed or restarted process is picked up here once its lease has run out.
    """
    started = runtime.now()

    def clock() -> datetime:
        return now + (runtime.now() - started)

    with runtime.sessions() as session:
        with session.begin():
            due = list(
                session.scalars(
                    select(Escalation.id)
                    .where(Escalation.next_attempt_at <= now)
                    .order_by(Escalation.next_attempt_at, Escalation.id)
                    .limit(BATCH)
                )
            )
        worked = 0
        for escalation_id in due:
            if not _lease(session, escalation_id, clock()):
                continue
            worked += 1
            try:
                advance(runtime, session, escalation_id, clock)
            except Exception:
                # One broken escalation must not starve the others; its lease runs out and it is tried again.
                log.exception("escalation %s could not be advanced", escalation_id)
        return worked
