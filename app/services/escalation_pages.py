"""The background side of escalation: post what the thread misses, create the alert, follow it, retry.

The listener only records the escalation and replies; everything that may wait on the pager happens here,
in the 15-second job. A row has work left while its ``next_attempt_at`` is set. A worker first leases a due
row (a conditional UPDATE moves that time forward and stores a fresh ``lease_token``), so two replicas never
work the same escalation at once, and fences every later write on its token (``hold``): a worker that was
overtaken stops instead of undoing its successor's work. Opsgenie's alias makes a repeated create harmless
on top of that. An alert request Opsgenie never finishes processing is asked about less and less often and
given up as ``unconfirmed`` after ``CONFIRM_WITHIN``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.runtime import Runtime
from app.services.alert_timing import ACTIVE_STATUSES, FIRST_RETRY, backoff
from app.services.escalation_alert import Clock, load, page
from app.services.escalation_lease import (
    ESCALATION_LEASE,
    MAX_ATTEMPTS,
    LeaseLost,
    may_post,
    post_in_flight_until,
    release,
)
from app.services.escalation_thread import post_outcome, post_reply
from app.store.models import Escalation

log = logging.getLogger(__name__)

PAGES_JOB = "escalation-pages"  # the scheduler job that runs retry_pending_pages
PAGES_EVERY = timedelta(seconds=15)  # its tick; a row due sooner (a backoff, a lease running out) wakes it

# Statuses that count against a user's page limit, and the final ones.
# "notified": a team without a pager had its on-call people sent direct messages instead (escalation_dms).
PAGED_STATUSES = ("pending", "requested", "created", "unconfirmed", "notified")
ALERTED = ("requested", "created", "unconfirmed")  # an alert may exist: the pager can act or note on it
OUTCOME_STATUSES = ("created", "failed", "unconfirmed", "notified")
# Opsgenie usually processes a request within a second: one short wait right after the create saves a
# job round trip for nearly every page. It is spent once per page, never on the later follow-ups.
JOB_PAUSES: tuple[float, ...] = (0.5,)
BATCH = 20
# While the database refuses to store escalations kept in memory, the job tries again this often.
UNSAVED_RETRY = timedelta(seconds=2)


def _outcome_missing(row: Escalation) -> bool:
    # The outcome follows the reply, so the thread reads in order; a reply given up takes it along.
    return row.status in OUTCOME_STATUSES and row.reply_ts is not None and row.outcome_ts is None


def _posts_left(row: Escalation) -> bool:
    missing = row.reply_ts is None or _outcome_missing(row)
    return missing and row.post_attempts < MAX_ATTEMPTS


def _post_due(row: Escalation, now: datetime) -> datetime:
    """When to try the missing thread post: once an earlier one can no longer land, after the backoff."""
    until = post_in_flight_until(row)
    return until if until is not None and until > now else now + backoff(row.post_attempts)


def advance(
    runtime: Runtime,
    session: Session,
    escalation_id: int,
    lease: str,
    clock: Clock,
    *,
    pauses: Sequence[float] = JOB_PAUSES,
    read_back: bool = False,
) -> str:
    """Do what one leased escalation still needs (thread reply, page, outcome), then release it; its status.

    ``read_back``: an earlier holder may have sent the alert (its lease ran out): look for it first.
    Raises LeaseLost, having stopped, when another worker took the escalation over meanwhile.
    """
    row = load(session, escalation_id)
    # A reply the listener sent may still land (its lease ran out while Slack was slow): wait for it.
    if row.reply_ts is None and row.post_attempts < MAX_ATTEMPTS and may_post(row, clock()):
        post_reply(runtime, session, row, clock(), lease)
        row = load(session, escalation_id)
    again = page(runtime, session, row, lease, clock, pauses, read_back=read_back)
    return settle(runtime, session, escalation_id, lease, clock, again)


def settle(
    runtime: Runtime, session: Session, escalation_id: int, lease: str, clock: Clock, again: datetime | None
) -> str:
    """After the page: post the outcome the thread misses, then release the row, due ``again``; its status."""
    row = load(session, escalation_id)
    if _outcome_missing(row) and row.post_attempts < MAX_ATTEMPTS and may_post(row, clock()):
        post_outcome(runtime, session, row, clock(), lease)
        row = load(session, escalation_id)
    now = clock()
    # A page never tried (Page pressed after this worker looked) is due now, not after a retry's wait.
    untried = row.status == "pending" and row.attempts == 0
    due = [again or (now if untried else now + FIRST_RETRY)] if row.status in ACTIVE_STATUSES else []
    if _posts_left(row):
        due.append(_post_due(row, now))
    release(session, escalation_id, lease, now, min(due) if due else None, known=row.status)
    return row.status


def _lease(runtime: Runtime, session: Session, escalation_id: int, now: datetime) -> str | None:
    """Take a due escalation (or one whose holder stopped renewing it): its token, or None when taken."""
    with session.begin():
        return runtime.leases.claim(
            session, ESCALATION_LEASE, now, Escalation.id == escalation_id, Escalation.next_attempt_at <= now
        )


def pager_answers(runtime: Runtime, now: datetime) -> int:
    """The pager answered again: pages waiting out a backoff are due now and the job is woken; how many."""
    with runtime.sessions.begin() as session:
        result = session.execute(
            update(Escalation)
            .where(
                Escalation.status == "pending",
                Escalation.attempts > 0,
                Escalation.lease_token.is_(None),
                Escalation.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
        )
    woken = int(getattr(result, "rowcount", 0) or 0)
    if woken:
        log.info("the pager answers again: %d page(s) in backoff are sent now", woken)
        runtime.wake(PAGES_JOB)
    return woken


def _store_unsaved(runtime: Runtime) -> bool:
    """Store the escalations the database refused earlier; True when none is waiting any more."""
    stored = runtime.unsaved.flush(runtime.sessions)
    if stored:
        log.info("stored %d escalation(s) kept in memory while the database refused writes", stored)
    return not len(runtime.unsaved)


def retry_pending_pages(runtime: Runtime, now: datetime) -> int:
    """The background job: work on every due escalation (thread posts, pages); return how many.

    ``now`` is when the run starts; each escalation reads the clock again (``now`` plus how far the
    runtime's clock has moved since), so leases and backoffs stay true while the pager is slow. Work
    left by a crashed or restarted process is picked up here once its lease has run out.
    """
    started = runtime.now()

    def clock() -> datetime:
        return now + (runtime.now() - started)

    if len(runtime.unsaved) and not _store_unsaved(runtime):
        runtime.wake(PAGES_JOB, UNSAVED_RETRY)  # the database still refuses writes: soon, not in 15 s
        return 0
    with runtime.sessions() as session:
        with session.begin():
            due = list(
                session.execute(
                    select(Escalation.id, Escalation.status, Escalation.lease_token)
                    .where(Escalation.next_attempt_at <= now)
                    .order_by(Escalation.next_attempt_at, Escalation.id)
                    .limit(BATCH)
                )
            )
        worked, answered = 0, False
        for escalation_id, before, held in due:
            if runtime.stopping.is_set():
                break  # the rest stays due for the next process
            lease = _lease(runtime, session, escalation_id, clock())
            if lease is None:
                continue
            worked += 1
            try:
                with runtime.leases.holding(ESCALATION_LEASE, lease):
                    # A due row still holding a token: its holder died (or stalled) mid-work; the alert
                    # it may have sent is looked for before another is raised.
                    taken_over = held is not None
                    status = advance(runtime, session, escalation_id, lease, clock, read_back=taken_over)
                answered = answered or (before == "pending" and status in ("requested", "created"))
            except LeaseLost as lost:
                log.warning("%s; leaving it to that worker", lost)
            except Exception:
                # One broken escalation must not starve the others; its lease runs out and it is tried again.
                log.exception("escalation %s could not be advanced", escalation_id)
        with session.begin():
            soonest = session.scalar(select(func.min(Escalation.next_attempt_at)))
    if soonest is not None and soonest - clock() < PAGES_EVERY:
        runtime.wake(PAGES_JOB, max(soonest - clock(), timedelta(0)))  # not at the next tick: when due
    if answered:
        pager_answers(runtime, clock())  # one page went through: the others in backoff need not wait
    return worked
