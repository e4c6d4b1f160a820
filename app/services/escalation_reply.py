"""The listener's thread reply to a recorded escalation, and the release of its row afterwards.

Inline (no page workers: the CLI, tests without jobs) the listener replies, records the reply and releases
the row, due at once when a page or the reply is still owed (the page job takes it). With page workers the
reply runs on the mentions lane (``reply_later``) so that a Slack rate limit on it never holds up the next
mention's page, and a paging row's lease is shared with the page worker already creating its alert: the
last of the two to finish settles the row (``page_queue.Joint``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.chat import Sent, Unknown
from app.lanes import MENTIONS
from app.model.person import Person
from app.runtime import Runtime
from app.services.escalation_alert import load
from app.services.escalation_lease import ESCALATION_LEASE, LeaseLost, release
from app.services.escalation_thread import permalink_of, record_post, reply_message, send_thread_post
from app.services.page_queue import Joint, settle_later, submit
from app.store.models import Escalation

log = logging.getLogger(__name__)


def reply_and_release(
    runtime: Runtime,
    session: Session,
    row: Escalation,
    people: list[Person] | None,
    as_of: datetime | None,
    now: datetime,
    lease: str,
    joint: Joint | None = None,
) -> bool:
    """Reply in the thread and record it, then release the row (or leave ``joint``); True: wake the job."""
    reply = reply_message(runtime, row, people, as_of, now)
    sent = send_thread_post(runtime, row, "reply", reply, read_back_first=False)
    reply_ts = sent.ts if isinstance(sent, Sent) else None
    record_post(session, row, "reply", reply_ts, now, lease, unknown=isinstance(sent, Unknown))
    # The link lets the page and the handover point at the conversation; it is the same whoever asks.
    link = row.permalink or permalink_of(runtime, row.channel, row.message_ts)
    if link is not None:
        with session.begin():
            session.execute(
                update(Escalation)
                .where(Escalation.id == row.id, Escalation.permalink.is_(None))
                .values(permalink=link)
            )
    if joint is not None:
        if joint.leave():
            settle_later(runtime, joint)  # the page is done already: a worker posts the outcome
        return False
    # Release the row: due now when a page or the reply is still owed (or Page was pressed), else done.
    due = now if row.status == "pending" or reply_ts is None else None
    try:
        pressed = release(session, row.id, lease, now, due, known=row.status)
    except LeaseLost:
        log.warning("escalation %s: the reply outlasted the lease; the job has taken it over", row.event_id)
        return False
    if pressed:
        log.info("escalation %s: Page was pressed before the reply was recorded; paging now", row.event_id)
    return due is not None or pressed


def reply_later(
    runtime: Runtime,
    escalation_id: int,
    event_id: str,
    people: list[Person] | None,
    as_of: datetime | None,
    now: datetime,
    lease: str,
    joint: Joint | None,
) -> None:
    """Hand the reply to the mentions lane, the lease held (renewed) until it is done."""
    runtime.leases.hold(ESCALATION_LEASE, lease)

    def work() -> None:
        try:
            with runtime.sessions() as session:
                row = load(session, escalation_id)
                woken = reply_and_release(runtime, session, row, people, as_of, now, lease, joint)
        finally:
            runtime.leases.let_go(lease)
        if woken:  # a page worker does what is owed now (the job may be busy with a run of its own)
            submit(runtime, escalation_id)

    runtime.background.run(f"reply to escalation {event_id}", work, lane=MENTIONS)
