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
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.domain import AlertRequest, AlertStatus, Team
from app.providers import Provider, ProviderError
from app.runtime import Runtime
from app.services.escalation_dms import dmed, send_dms
from app.services.escalation_thread import (
    ESCALATION_LEASE,
    MAX_ATTEMPTS,
    LeaseLost,
    hold,
    may_post,
    permalink_of,
    post_in_flight_until,
    post_outcome,
    post_reply,
)
from app.store.models import Escalation, SlackUser

log = logging.getLogger(__name__)

PAGES_JOB = "escalation-pages"  # the scheduler job that runs retry_pending_pages
PAGES_EVERY = timedelta(seconds=15)  # its tick; a row due sooner (a backoff, a lease running out) wakes it

Clock = Callable[[], datetime]

# Statuses that count against a user's page limit; those the pager still has to act on; the final ones.
# "notified": a team without a pager had its on-call people sent direct messages instead (escalation_dms).
PAGED_STATUSES = ("pending", "requested", "created", "unconfirmed", "notified")
ACTIVE_STATUSES = ("pending", "requested")
OUTCOME_STATUSES = ("created", "failed", "unconfirmed", "notified")
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(minutes=5)
# An accepted alert request not processed yet is asked about again 5 s, 10 s, 20 s … (at most a minute)
# later, and given up as unconfirmed this long after Opsgenie accepted it.
FOLLOW_FIRST = timedelta(seconds=5)
FOLLOW_MAX = timedelta(minutes=1)
CONFIRM_WITHIN = timedelta(minutes=10)
# Opsgenie usually processes a request within a second: one short wait right after the create saves a
# job round trip for nearly every page. It is spent once per page, never on the later follow-ups.
JOB_PAUSES: tuple[float, ...] = (0.5,)
BATCH = 20
# While the database refuses to store escalations kept in memory, the job tries again this often.
UNSAVED_RETRY = timedelta(seconds=2)
MESSAGE_LIMIT = 130


def backoff(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: 10 s, 20 s, 40 s … capped at 5 minutes."""
    # The exponent is capped too: 10 s * 2**49 would overflow timedelta long before MAX_ATTEMPTS.
    return min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 16)), MAX_RETRY)


def follow_delay(waited: timedelta) -> timedelta:
    """The wait before asking again about a request unprocessed for ``waited``: 5 s, 10 s, 20 s … 1 min."""
    return min(waited + FOLLOW_FIRST, FOLLOW_MAX)


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


def _transition(
    session: Session, row: Escalation, lease: str, expected: str, now: datetime, **values: Any
) -> None:
    """Change the row, still ours and still in status ``expected``; LeaseLost otherwise."""
    hold(session, row.id, lease, now, where=(Escalation.status == expected,), **values)


def _load(session: Session, escalation_id: int) -> Escalation:
    with session.begin():
        return session.execute(
            select(Escalation).where(Escalation.id == escalation_id).execution_options(populate_existing=True)
        ).scalar_one()


def _retry_later(
    session: Session, row: Escalation, lease: str, error: str, now: datetime, **extra: Any
) -> datetime:
    """Count a failed create; the time of the next try."""
    attempts = row.attempts + 1
    _transition(session, row, lease, row.status, now, attempts=attempts, last_error=error, **extra)
    log.warning("page of escalation %s will be retried (attempt %d): %s", row.event_id, attempts, error)
    return now + backoff(attempts)


def _end(
    session: Session, row: Escalation, lease: str, status: str, reason: str, now: datetime, **extra: Any
) -> None:
    """Give the page up for good as ``status``; the thread hears it from ``post_outcome``."""
    _transition(
        session, row, lease, row.status, now, status=status, last_error=reason, resolved_at=now, **extra
    )
    log.error("page of escalation %s %s: %s", row.event_id, status, reason)


def _create(
    runtime: Runtime, session: Session, row: Escalation, lease: str, team: Team, clock: Clock
) -> datetime | None:
    """Ask the pager for the alert; when to try again, or None once it is requested (or failed)."""
    permalink = row.permalink or permalink_of(runtime, row.channel, row.message_ts)
    with session.begin():
        reporter = _reporter(session, row.user_id)
    alert = build_alert(row, team, reporter=reporter, permalink=permalink)
    try:
        request_id = runtime.providers.for_team(team).create_alert(alert)
    except ProviderError as exc:
        now = clock()
        if not exc.retryable or row.attempts + 1 >= MAX_ATTEMPTS:
            _end(session, row, lease, "failed", str(exc), now, permalink=permalink)
            return None
        return _retry_later(session, row, lease, str(exc), now, permalink=permalink)
    now = clock()
    _transition(
        session,
        row,
        lease,
        "pending",
        now,
        status="requested",
        alert_request_id=request_id,
        requested_at=now,
        attempts=row.attempts + 1,
        last_error=None,
        permalink=permalink,
    )
    return None


def _notify(runtime: Runtime, session: Session, row: Escalation, lease: str, clock: Clock) -> datetime | None:
    """No pager to call: message the on-call people directly; when to try again, or None once done."""
    permalink = row.permalink or permalink_of(runtime, row.channel, row.message_ts)
    done = send_dms(runtime, session, row, permalink, clock())
    now = clock()
    with session.begin():
        reached = dmed(session, row)
    if reached:
        _transition(
            session, row, lease, "pending", now,
            status="notified", attempts=row.attempts + 1, last_error=done.problems(), resolved_at=now,
            permalink=permalink,
        )  # fmt: skip
        return None
    if done.failed and row.attempts + 1 < MAX_ATTEMPTS:
        return _retry_later(session, row, lease, done.problems() or "", now, permalink=permalink)
    _end(session, row, lease, "failed", done.problems() or "nobody is on call", now, permalink=permalink)
    return None


def _poll(provider: Provider, request_id: str, pauses: Sequence[float]) -> AlertStatus:
    status = provider.alert_status(request_id)
    for pause in pauses:
        if status.done:
            break
        time.sleep(pause)
        status = provider.alert_status(request_id)
    return status


def _follow(
    runtime: Runtime, session: Session, row: Escalation, lease: str, clock: Clock, pauses: Sequence[float]
) -> datetime | None:
    """Ask how the accepted alert request went; when to ask again, or None once the page is final.

    Only the pager's own answer makes a page ``failed``: once a request was accepted the alert may exist,
    so a request that stays unanswered (unprocessed, or the status cannot be read) ends ``unconfirmed``.
    """
    provider = runtime.providers.for_team(row.team)
    pager = provider.name
    requested_at = row.requested_at or row.updated_at
    deadline = requested_at + CONFIRM_WITHIN
    try:
        status: AlertStatus | None = _poll(provider, row.alert_request_id or "", pauses)
        error: ProviderError | None = None
    except ProviderError as exc:
        status, error = None, exc
    now = clock()
    if status is not None and status.done:
        if not status.success or not status.alert_id:
            _end(session, row, lease, "failed", f"{pager} did not create the alert ({status.message})", now)
            return None
        _transition(
            session, row, lease, "requested", now,
            status="created", alert_id=status.alert_id, last_error=None, resolved_at=now,
        )  # fmt: skip
        log.info("escalation %s paged: alert %s", row.event_id, status.alert_id)
        return None
    if error is not None and not error.retryable:
        _end(session, row, lease, "unconfirmed", f"its status could not be read ({error})", now)
        return None
    if now >= deadline:
        waited = f"after {int(CONFIRM_WITHIN.total_seconds() // 60)} minutes"
        why = f"its status still could not be read {waited} ({error})" if error else ""
        _end(session, row, lease, "unconfirmed", why or f"it was still processing the request {waited}", now)
        return None
    if error is not None:
        _transition(session, row, lease, "requested", now, last_error=str(error))
    return min(now + follow_delay(now - requested_at), deadline)


def _page(
    runtime: Runtime, session: Session, row: Escalation, lease: str, clock: Clock, pauses: Sequence[float]
) -> datetime | None:
    """Move the page as far as the pager lets it; when to look again (None: nothing left to do)."""
    team = runtime.config.team(row.team)
    if team is None and row.status in ACTIVE_STATUSES:
        _end(session, row, lease, "failed", f"team {row.team!r} is no longer in the config", clock())
        return None
    if row.status == "pending" and team is not None and not runtime.providers.for_team(team).can_page:
        return _notify(runtime, session, row, lease, clock)
    if row.status == "pending" and team is not None:
        again = _create(runtime, session, row, lease, team, clock)
        row = _load(session, row.id)
        # Only a request made just now is worth a short wait: it is almost always processed within it.
        return _follow(runtime, session, row, lease, clock, pauses) if row.status == "requested" else again
    if row.status == "requested":
        return _follow(runtime, session, row, lease, clock, ())
    return None


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
) -> str:
    """Do what one leased escalation still needs (thread reply, page, outcome), then release it; its status.

    Raises LeaseLost, having stopped, when another worker took the escalation over meanwhile.
    """
    row = _load(session, escalation_id)
    # A reply the listener sent may still land (its lease ran out while Slack was slow): wait for it.
    if row.reply_ts is None and row.post_attempts < MAX_ATTEMPTS and may_post(row, clock()):
        post_reply(runtime, session, row, clock(), lease)
        row = _load(session, escalation_id)
    again = _page(runtime, session, row, lease, clock, pauses)
    row = _load(session, escalation_id)
    if _outcome_missing(row) and row.post_attempts < MAX_ATTEMPTS and may_post(row, clock()):
        post_outcome(runtime, session, row, clock(), lease)
        row = _load(session, escalation_id)
    now = clock()
    due = [again or now + FIRST_RETRY] if row.status in ACTIVE_STATUSES else []
    if _posts_left(row):
        due.append(_post_due(row, now))
    hold(session, escalation_id, lease, now, next_attempt_at=min(due) if due else None, lease_token=None)
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
                    select(Escalation.id, Escalation.status)
                    .where(Escalation.next_attempt_at <= now)
                    .order_by(Escalation.next_attempt_at, Escalation.id)
                    .limit(BATCH)
                )
            )
        worked, answered = 0, False
        for escalation_id, before in due:
            if runtime.stopping.is_set():
                break  # the rest stays due for the next process
            lease = _lease(runtime, session, escalation_id, clock())
            if lease is None:
                continue
            worked += 1
            try:
                with runtime.leases.holding(ESCALATION_LEASE, lease):
                    status = advance(runtime, session, escalation_id, lease, clock)
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
