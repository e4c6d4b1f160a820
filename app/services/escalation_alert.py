"""One escalation's alert with the pager: build it, create it, follow the request, or DM instead.

The job in escalation_pages leases a row and calls ``page``; each step here records its outcome on the
leased row (fenced by the lease) before the next one runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import AlertRef, AlertStatus, Team
from app.providers import Provider, ProviderError
from app.runtime import Runtime
from app.services.alert_timing import (
    ACTIVE_STATUSES,
    CONFIRM_WITHIN,
    backoff,
    build_alert,
    follow_delay,
)
from app.services.escalation_dms import dmed, send_dms
from app.services.escalation_lease import MAX_ATTEMPTS, hold
from app.services.escalation_thread import permalink_of
from app.services.slack_users import named
from app.store.models import Escalation

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _transition(
    session: Session, row: Escalation, lease: str, expected: str, now: datetime, **values: Any
) -> None:
    """Change the row, still ours and still in status ``expected``; LeaseLost otherwise."""
    hold(session, row.id, lease, now, where=(Escalation.status == expected,), **values)


def load(session: Session, escalation_id: int) -> Escalation:
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
    runtime: Runtime,
    session: Session,
    row: Escalation,
    lease: str,
    team: Team,
    clock: Clock,
    link: Callable[[Runtime, str, str], str | None],
) -> datetime | None:
    """Ask the pager for the alert; when to try again, or None once it is requested (or failed)."""
    permalink = row.permalink or link(runtime, row.channel, row.message_ts)
    with session.begin():
        reporter = named(session, row.user_id)
        # Credited at the pager: whoever pressed Page, else whoever asked for the page in words.
        presser = named(session, row.paged_by) if row.paged_by else reporter
    alert = replace(build_alert(row, team, reporter=reporter, permalink=permalink), user=presser)
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


def found_alert(runtime: Runtime, session: Session, row: Escalation, lease: str, clock: Clock) -> bool:
    """Read the alert back by alias before raising it again; True when it exists (the row is ``created``).

    An earlier create may have reached the pager unseen (a timeout after sending, a crash between claim
    and record). Where the pager cannot tell (the read fails), the create goes ahead: the pager's own
    alias deduplication still folds it into an open alert.
    """
    provider = runtime.providers.for_team(row.team)
    try:
        state = provider.alert_state(AlertRef(alias=row.alias or "", alert_id=None))
    except ProviderError as error:
        log.warning("escalation %s: cannot read its alert back before paging: %s", row.event_id, error)
        return False
    if state is None:
        return False
    now = clock()
    _transition(
        session, row, lease, "pending", now,
        status="created", alert_id=state.alert_id, last_error=None, resolved_at=now,
        attempts=row.attempts + 1,
    )  # fmt: skip
    log.info("escalation %s: its alert %s already exists; not raised again", row.event_id, state.alert_id)
    return True


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


def page(
    runtime: Runtime,
    session: Session,
    row: Escalation,
    lease: str,
    clock: Clock,
    pauses: Sequence[float],
    *,
    read_back: bool = False,
    link: Callable[[Runtime, str, str], str | None] = permalink_of,
) -> datetime | None:
    """Move the page as far as the pager lets it; when to look again (None: nothing left to do).

    ``read_back``: an earlier attempt may have raised the alert unseen; a retry always looks first.
    ``link``: how to ask Slack for the message's permalink (the page workers ask quickly).
    """
    team = runtime.config.team(row.team)
    if team is None and row.status in ACTIVE_STATUSES:
        _end(session, row, lease, "failed", f"team {row.team!r} is no longer in the config", clock())
        return None
    if row.status == "pending" and team is not None and not runtime.providers.for_team(team).can_page:
        return _notify(runtime, session, row, lease, clock)
    if row.status == "pending" and team is not None and (read_back or row.attempts > 0):
        if found_alert(runtime, session, row, lease, clock):
            return None
        row = load(session, row.id)
    if row.status == "pending" and team is not None:
        again = _create(runtime, session, row, lease, team, clock, link)
        row = load(session, row.id)
        # Only a request made just now is worth a short wait: it is almost always processed within it.
        return _follow(runtime, session, row, lease, clock, pauses) if row.status == "requested" else again
    if row.status == "requested":
        return _follow(runtime, session, row, lease, clock, ())
    return None
