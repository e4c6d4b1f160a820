"""The pager side of escalation: create the alert, follow its request, confirm in the thread, retry.

Every step is a status transition guarded by the current status (a conditional UPDATE), and a worker
first leases a row by moving its ``next_attempt_at`` forward, so two replicas never work the same page
at once and never both confirm it. Opsgenie's alias makes a repeated create harmless on top of that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.domain import AlertRequest, AlertStatus, Team
from app.providers import ProviderError
from app.runtime import Runtime
from app.slack import escalation_blocks as render
from app.slack.errors import from_sdk
from app.store.models import Escalation, SlackUser

log = logging.getLogger(__name__)

# Statuses that count against a user's page limit, and those the retry job works on.
PAGED_STATUSES = ("pending", "requested", "created")
ACTIVE_STATUSES = ("pending", "requested")
# How long a worker owns a page it is working on; after that (a crash) another may take it over.
LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(minutes=5)
# A created alert request not yet processed is asked about again this soon.
FOLLOW_AGAIN = timedelta(seconds=5)
# With the 5-minute cap this is about four hours of trying before the thread is told it failed.
MAX_ATTEMPTS = 50
# Opsgenie usually processes a request within a second: a short wait saves a 15-second round trip.
LISTENER_PAUSES: tuple[float, ...] = (0.25, 0.5, 1.0)
JOB_PAUSES: tuple[float, ...] = (0.5,)
BATCH = 20
MESSAGE_LIMIT = 130


def backoff(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: 10 s, 20 s, 40 s … capped at 5 minutes."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


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


def post_in_thread(runtime: Runtime, channel: str, thread_ts: str, payload: render.Message) -> str | None:
    """Post ``payload`` in a thread; the message ts, or None (logged) when Slack refused it."""
    try:
        response = runtime.slack.chat_postMessage(
            channel=channel, thread_ts=thread_ts, unfurl_links=False, **payload
        )
    except SlackApiError as exc:
        log.warning(
            "could not post in thread %s of %s: %s", thread_ts, channel, from_sdk("chat.postMessage", exc)
        )
        return None
    return str(response.get("ts") or "") or None


def permalink_of(runtime: Runtime, channel: str, ts: str) -> str | None:
    """The message's permalink, or None (logged) when Slack does not give one."""
    try:
        return str(runtime.slack.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
    except (SlackApiError, KeyError) as exc:
        # The page matters more than the link: go on without it.
        log.warning("no permalink for %s/%s: %s", channel, ts, exc)
        return None


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


def _retry_later(session: Session, row: Escalation, error: str, now: datetime, **extra: Any) -> str:
    attempts = row.attempts + 1
    _transition(
        session,
        row.id,
        row.status,
        now,
        attempts=attempts,
        last_error=error,
        next_attempt_at=now + backoff(attempts),
        **extra,
    )
    log.warning("page of escalation %s will be retried (attempt %d): %s", row.event_id, attempts, error)
    return row.status


def _fail(
    runtime: Runtime, session: Session, row: Escalation, reason: str, now: datetime, **extra: Any
) -> str:
    """Give the page up for good and say so in the thread (once: the transition picks one worker)."""
    if _transition(
        session,
        row.id,
        row.status,
        now,
        status="failed",
        last_error=reason,
        next_attempt_at=None,
        resolved_at=now,
        **extra,
    ):
        log.error("page of escalation %s failed: %s", row.event_id, reason)
        post_in_thread(
            runtime, row.channel, row.thread_ts, render.page_failed(reason, pager=runtime.provider.name)
        )
    return "failed"


def _create(runtime: Runtime, session: Session, row: Escalation, team: Team, now: datetime) -> str:
    permalink = row.permalink or permalink_of(runtime, row.channel, row.message_ts)
    with session.begin():
        reporter = _reporter(session, row.user_id)
    alert = build_alert(row, team, reporter=reporter, permalink=permalink)
    try:
        request_id = runtime.provider.create_alert(alert)
    except ProviderError as exc:
        if not exc.retryable or row.attempts + 1 >= MAX_ATTEMPTS:
            return _fail(runtime, session, row, str(exc), now, permalink=permalink)
        return _retry_later(session, row, str(exc), now, permalink=permalink)
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
        next_attempt_at=now + LEASE,
    )
    return "requested"


def _poll(runtime: Runtime, request_id: str, pauses: Sequence[float]) -> AlertStatus:
    status = runtime.provider.alert_status(request_id)
    for pause in pauses:
        if status.done:
            break
        time.sleep(pause)
        status = runtime.provider.alert_status(request_id)
    return status


def _follow(
    runtime: Runtime, session: Session, row: Escalation, now: datetime, pauses: Sequence[float]
) -> str:
    pager = runtime.provider.name
    try:
        status = _poll(runtime, row.alert_request_id or "", pauses)
    except ProviderError as exc:
        if not exc.retryable or row.attempts + 1 >= MAX_ATTEMPTS:
            return _fail(runtime, session, row, str(exc), now)
        return _retry_later(session, row, str(exc), now)
    if not status.done:
        _transition(session, row.id, "requested", now, next_attempt_at=now + FOLLOW_AGAIN)
        return "requested"
    if not status.success or not status.alert_id:
        return _fail(runtime, session, row, f"{pager} did not create the alert ({status.message})", now)
    return _confirm(runtime, session, row, status.alert_id, now)


def _confirm(runtime: Runtime, session: Session, row: Escalation, alert_id: str, now: datetime) -> str:
    """Store the alert id and say so in the thread, once: only the worker whose transition wins posts."""
    if not _transition(
        session,
        row.id,
        "requested",
        now,
        status="created",
        alert_id=alert_id,
        next_attempt_at=None,
        last_error=None,
        resolved_at=now,
    ):
        return _load(session, row.id).status  # another worker confirmed it
    confirmation = render.page_confirmed(alert_id, pager=runtime.provider.name)
    if post_in_thread(runtime, row.channel, row.thread_ts, confirmation):
        log.info("escalation %s paged: alert %s", row.event_id, alert_id)
        return "created"
    # Slack did not take the confirmation: hand it back so that the job confirms later.
    attempts = row.attempts + 1
    _transition(
        session,
        row.id,
        "created",
        now,
        status="requested",
        resolved_at=None,
        attempts=attempts,
        last_error="the confirmation could not be posted",
        next_attempt_at=now + backoff(attempts),
    )
    return "requested"


def advance(
    runtime: Runtime,
    session: Session,
    escalation_id: int,
    now: datetime,
    *,
    team: Team | None = None,
    pauses: Sequence[float] = LISTENER_PAUSES,
) -> str:
    """Move one leased page forward: create its alert, follow the request, confirm; return the status."""
    row = _load(session, escalation_id)
    team = team or runtime.config.team(row.team)
    if row.status in ACTIVE_STATUSES and team is None:
        return _fail(runtime, session, row, f"team {row.team!r} is no longer in the config", now)
    if row.status == "pending" and team is not None:
        if _create(runtime, session, row, team, now) != "requested":
            return _load(session, escalation_id).status
        row = _load(session, escalation_id)
    if row.status == "requested":
        return _follow(runtime, session, row, now, pauses)
    return row.status


def _lease(session: Session, escalation_id: int, now: datetime) -> bool:
    """Take a due page for ``LEASE``; False when another worker took it first."""
    with session.begin():
        result = session.execute(
            update(Escalation)
            .where(
                Escalation.id == escalation_id,
                Escalation.status.in_(ACTIVE_STATUSES),
                or_(Escalation.next_attempt_at.is_(None), Escalation.next_attempt_at <= now),
            )
            .values(next_attempt_at=now + LEASE)
        )
    return bool(getattr(result, "rowcount", 0))


def retry_pending_pages(runtime: Runtime, now: datetime) -> int:
    """The background job: advance every due pending or requested page; return how many it worked on.

    Pages left by a crashed or restarted process are picked up here once their lease has run out.
    """
    with runtime.sessions() as session:
        with session.begin():
            due = list(
                session.scalars(
                    select(Escalation.id)
                    .where(
                        Escalation.status.in_(ACTIVE_STATUSES),
                        or_(Escalation.next_attempt_at.is_(None), Escalation.next_attempt_at <= now),
                    )
                    .order_by(Escalation.created_at, Escalation.id)
                    .limit(BATCH)
                )
            )
        worked = 0
        for escalation_id in due:
            if not _lease(session, escalation_id, now):
                continue
            worked += 1
            try:
                advance(runtime, session, escalation_id, now, pauses=JOB_PAUSES)
            except Exception:
                # One broken page must not starve the others; its lease runs out and it is tried again.
                log.exception("escalation page %s could not be advanced", escalation_id)
        return worked
