"""The escalation's lease: who works on a row (the listener, then the job), and posts that may still land.

Whoever works on an escalation holds its lease: ``lease_token``, with ``next_attempt_at`` as its expiry,
renewed by the process's heartbeat (``app.store.leases``) while the worker runs, so a killed process's
escalations are taken over within one lease (30 s by default). Every write that decides something (a
status, a failure count, when to look again, the release) is fenced on that token, so a worker that was
overtaken cannot undo its successor's work. A post that did land is a fact, though: its ts is stored
wherever none is stored yet, lease or not, and ``posting_since`` tells a successor that a post may still
be on its way, so that it does not send a second one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from app.store.leases import LeaseColumns, Leases
from app.store.models import Escalation

log = logging.getLogger(__name__)

# After this many failed tries (with the 5-minute backoff cap, about four hours) a page or a thread post
# is given up.
MAX_ATTEMPTS = 50
# The longest one Slack call takes with the client's retries (app/slack/gateway_client.py): 8 tries (1 + 2
# connection + 3 rate-limit + 2 server-error retries) of up to 15 s, three Retry-After waits (under a
# minute each in practice) and short 5xx backoffs: about 5 minutes. A post older than this has ended.
SLACK_CALL_MAX = timedelta(minutes=6)
# An escalation's lease: its token, and next_attempt_at as the expiry the heartbeat pushes forward.
ESCALATION_LEASE = LeaseColumns(Escalation.lease_token, Escalation.next_attempt_at)


class LeaseLost(Exception):
    """Another worker took the escalation over (this one was too slow): stop writing to it."""


def new_lease() -> str:
    """A fresh lease token for one claim of an escalation."""
    return Leases.new_token()


def hold(
    session: Session,
    escalation_id: int,
    lease: str,
    now: datetime,
    *,
    where: tuple[ColumnElement[bool], ...] = (),
    **values: Any,
) -> None:
    """Write to an escalation while holding its lease (the heartbeat renews it; ``values`` may release it).

    Raises LeaseLost when ``lease`` is no longer the row's (or ``where`` no longer holds): nothing is written.
    """
    changes = {"updated_at": now, **values}
    with session.begin():
        result = session.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.lease_token == lease, *where)
            .values(**changes)
        )
    if not getattr(result, "rowcount", 0):
        raise LeaseLost(f"escalation {escalation_id} was taken over by another worker (or moved on)")


def release(
    session: Session, escalation_id: int, lease: str, now: datetime, due: datetime | None, *, known: str
) -> bool:
    """Let go of the escalation, due ``due``: or now when a Page press moved it on from ``known`` meanwhile.

    The Page press does not wait for the holder (its button is in Slack before the holder is done): it
    makes the row ``pending`` under the holder's lease, and the release then leaves that page due at once
    instead of filing the row as done. True when a press did that (page it now). Raises LeaseLost, like
    ``hold``.
    """
    try:
        hold(session, escalation_id, lease, now, where=(Escalation.status == known,), next_attempt_at=due,
             lease_token=None)  # fmt: skip
        return False
    except LeaseLost:
        pass  # the status moved on (a press), or the row is no longer ours
    hold(session, escalation_id, lease, now, next_attempt_at=now, lease_token=None)
    return True


def post_in_flight_until(row: Escalation) -> datetime | None:
    """Until when a thread post sent for ``row`` but not recorded may still land; None when there is none."""
    return row.posting_since + SLACK_CALL_MAX if row.posting_since is not None else None


def may_post(row: Escalation, now: datetime) -> bool:
    """True unless a post sent earlier (maybe by a worker that lost its lease) could still land."""
    until = post_in_flight_until(row)
    return until is None or until <= now
