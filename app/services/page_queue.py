"""The page workers' work: page the moment an escalation asks for it, each row on its own worker.

The 15-second job (``escalation_pages.retry_pending_pages``) is the safety net: retries after a backoff,
rows a dead process left, rows the database refused for a while. A page somebody asked for does not wait
for it, nor for the thread reply, nor for another page:

- A mention that pages is recorded leased to its listener, as before, and the listener *lends* that
  lease to a page worker at once (``lend``): the worker creates the alert while the listener posts the
  thread reply (which a Slack rate limit may hold for seconds). Both work under the one lease (renewed
  while either holds it; every write fenced on it, as everywhere), and the last of the two to finish
  (``Joint``) settles the row: posts the outcome in the thread once the reply is there, and releases it
  with when to look again. A crash of either leaves the lease to run out and the job to take the row over.
- A Page press makes its row due and hands its id over (``submit``); a worker claims it with a lease of
  its own, exactly as the job would, so that a press on another replica or the job racing it pages once.

The workers (``runtime.pages``, ``app.workers``) take their work from an unbounded queue: no wake-up is
dropped while they are busy, and one page hanging at a slow pager holds one worker only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.runtime import Runtime
from app.services.alert_timing import FIRST_RETRY
from app.services.escalation_alert import load, page
from app.services.escalation_lease import ESCALATION_LEASE, LeaseLost
from app.services.escalation_pages import JOB_PAUSES, PAGES_EVERY, advance, settle
from app.services.quick_slack import quick_permalink
from app.store.models import Escalation

log = logging.getLogger(__name__)


@dataclass
class Joint:
    """One escalation's lease shared by its listener (the reply) and a page worker (the alert)."""

    escalation_id: int
    lease: str
    again: datetime | None = None  # when the page wants looking at again, as the worker left it
    _left: int = 2
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def leave(self) -> bool:
        """One of the two is done; True for the last one, which then settles the row."""
        with self._lock:
            self._left -= 1
            return self._left == 0


def lend(runtime: Runtime, escalation_id: int, lease: str) -> Joint:
    """Page the listener's leased escalation now, beside its thread reply; the listener must ``leave``."""
    joint = Joint(escalation_id, lease)
    runtime.leases.hold(ESCALATION_LEASE, lease)  # renewed from now until the worker is done
    runtime.pages.put(f"page of escalation {escalation_id}", lambda: _lent(runtime, joint))
    return joint


def settle_later(runtime: Runtime, joint: Joint) -> None:
    """The listener finished last: post the outcome and release the row, on a worker."""
    runtime.leases.hold(ESCALATION_LEASE, joint.lease)
    runtime.pages.put(f"outcome of escalation {joint.escalation_id}", lambda: _settle(runtime, joint))


def submit(runtime: Runtime, escalation_id: int) -> None:
    """Claim a due escalation (a Page press) and do what it needs, on a worker, as soon as one is free."""
    runtime.pages.put(f"page of escalation {escalation_id}", lambda: _claim(runtime, escalation_id))


def _working(runtime: Runtime, joint: Joint | None, work: Callable[[], None]) -> None:
    """Run ``work`` as counted work in flight, unless stopping (then its lease is left to run out)."""
    try:
        if runtime.stopping.is_set():
            return  # the next process (or another replica) takes the row over once the lease runs out
        with runtime.stopping.working():
            work()
    except LeaseLost as lost:
        log.warning("%s; leaving it to that worker", lost)
    finally:
        if joint is not None:
            runtime.leases.let_go(joint.lease)


def _lent(runtime: Runtime, joint: Joint) -> None:
    def work() -> None:
        with runtime.sessions() as session:
            joint.again = _page(runtime, session, joint)
            if joint.leave():  # the reply is recorded already: this worker settles the row
                settle(runtime, session, joint.escalation_id, joint.lease, runtime.now, joint.again)
                _look_again(runtime, session, joint.escalation_id)

    _working(runtime, joint, work)


def _settle(runtime: Runtime, joint: Joint) -> None:
    def work() -> None:
        with runtime.sessions() as session:
            settle(runtime, session, joint.escalation_id, joint.lease, runtime.now, joint.again)
            _look_again(runtime, session, joint.escalation_id)

    _working(runtime, joint, work)


def _page(runtime: Runtime, session: Session, joint: Joint) -> datetime | None:
    """Create the alert under the lent lease; when to look again (a failure: after the first retry)."""
    try:
        row = load(session, joint.escalation_id)
        return page(runtime, session, row, joint.lease, runtime.now, JOB_PAUSES, link=quick_permalink)
    except LeaseLost:
        raise
    except Exception:  # one broken page must not leave the row unsettled: the job retries it
        log.exception("escalation %s: the page failed; it is tried again", joint.escalation_id)
        return runtime.now() + FIRST_RETRY


def _claim(runtime: Runtime, escalation_id: int) -> None:
    def work() -> None:
        with runtime.sessions() as session:
            with session.begin():
                now = runtime.now()
                lease = runtime.leases.claim(
                    session,
                    ESCALATION_LEASE,
                    now,
                    Escalation.id == escalation_id,
                    Escalation.next_attempt_at <= now,
                )
            if lease is None:
                return  # not due, or another worker (the job, a replica) has it
            with runtime.leases.holding(ESCALATION_LEASE, lease):
                advance(runtime, session, escalation_id, lease, runtime.now)
            _look_again(runtime, session, escalation_id)

    _working(runtime, None, work)


def _look_again(runtime: Runtime, session: Session, escalation_id: int) -> None:
    """A row due again soon (a request not processed yet) returns to a worker then, not at the job's tick."""
    row = load(session, escalation_id)
    now, due = runtime.now(), row.next_attempt_at
    if due is not None and row.lease_token is None and due - now < PAGES_EVERY:
        delay = max(due - now, timedelta(0))
        runtime.pages.later(
            delay, f"page of escalation {escalation_id}", lambda: _claim(runtime, escalation_id)
        )
