"""The escalation row: its values, the insert keyed on event_id under the page limit, and the reply that
still goes out when the database refuses the insert (the row then waits in ``Runtime.unsaved``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.chat import Sent, Unknown
from app.domain import Team
from app.runtime import Runtime
from app.services.escalation_intent import parse_priority
from app.services.escalation_mention import Mention
from app.services.escalation_pages import PAGED_STATUSES, PAGES_JOB
from app.services.escalation_thread import on_call_now, reply_message, send_thread_post
from app.store.db import reading
from app.store.models import Escalation
from app.store.repo import insert_ignoring_duplicates

log = logging.getLogger(__name__)

LIMIT_WINDOW = timedelta(hours=1)


def new_row(
    mention: Mention, team: Team, text: str, on_call: list[str], now: datetime, *, pages: bool
) -> dict[str, Any]:
    """The new escalation row of ``mention``, not leased and with nothing due yet; ``pages``: it asked to."""
    return {
        "event_id": mention.event_id,
        "team": team.name,
        "channel": mention.channel,
        "message_ts": mention.ts,
        "thread_ts": mention.reply_thread,
        "user_id": mention.user,
        "text": text,
        "on_call": on_call,
        "priority": parse_priority(text) or team.priority,
        "status": "pending" if pages else "tag_only",  # only a mention that asked to page pages
        # Stable across redeliveries and retries: Opsgenie folds repeats into the open alert.
        "alias": f"slack-{mention.channel}-{mention.ts}" if team.pages else None,
        "attempts": 0,
        "post_attempts": 0,
        "next_attempt_at": None,
        "lease_token": None,
        "created_at": now,
        "updated_at": now,
    }


def over_limit(session: Session, user: str, limit: int, now: datetime, *, besides: int | None) -> bool:
    """True when ``user`` already paged ``limit`` times within the last hour, by word or by button.

    A page counts for whoever asked for it: the presser of Page (``paged_by``), else the mention's author.
    ``besides``: an escalation not to count (the one being decided).
    """
    recent = session.scalar(
        select(func.count())
        .select_from(Escalation)
        .where(
            or_(Escalation.paged_by == user, (Escalation.user_id == user) & Escalation.paged_by.is_(None)),
            Escalation.id != (besides if besides is not None else -1),
            Escalation.created_at > now - LIMIT_WINDOW,
            Escalation.status.in_(PAGED_STATUSES),
        )
    )
    return (recent or 0) >= limit


def record(
    session: Session, values: dict[str, Any], limit: int, lease: str, lease_until: datetime, now: datetime
) -> Escalation | None:
    """INSERT the escalation keyed on event_id, leased to this listener; None when a delivery already did.

    The per-user page limit is counted after the insert, inside the same write transaction, so two
    mentions racing on two replicas cannot both slip under it.
    """
    leased = {
        **values,
        # The listener holds the row until it has replied; then the job may take what is left.
        "next_attempt_at": lease_until,
        "lease_token": lease,
        "posting_since": now,  # the reply goes out next: until it is recorded, nobody else posts one
    }
    if not insert_ignoring_duplicates(session, Escalation, leased):
        return None
    row = session.scalars(select(Escalation).where(Escalation.event_id == values["event_id"])).one()
    if row.status == "pending" and over_limit(session, row.user_id, limit, now, besides=row.id):
        session.execute(
            update(Escalation).where(Escalation.id == row.id).values(status="limited", updated_at=now)
        )
        session.refresh(row)
    return row


def reply_unrecorded(
    runtime: Runtime,
    mention: Mention,
    team: Team,
    body: str,
    now: datetime,
    error: SQLAlchemyError,
    *,
    pages: bool,
) -> str:
    """The database refused the escalation: reply in the thread anyway and keep the row until it is stored."""
    log.error(
        "escalation %s could not be stored (%s); replying now and keeping it in memory until the "
        "database accepts writes again",
        mention.event_id, type(error).__name__,
    )  # fmt: skip
    people, as_of, limited = None, None, False
    try:  # reads still work (WAL, no write lock asked for): a locked or full database refuses writes only
        with reading(runtime.sessions) as session:
            people, as_of = on_call_now(session, runtime.config, team.name)
            if pages:
                earlier = sum(v["user_id"] == mention.user for v in runtime.unsaved.waiting(Escalation))
                limit = runtime.config.pages_per_user_per_hour - earlier
                limited = over_limit(session, mention.user, limit, now, besides=None)
    except SQLAlchemyError as read_error:
        log.warning("escalation %s: the cache cannot be read either: %s", mention.event_id, read_error)
    values = new_row(mention, team, body, [p.pager_id for p in people or []], now, pages=pages)
    if limited:
        values["status"] = "limited"
    unsaved = Escalation(**values)
    reply = reply_message(runtime, unsaved, people, as_of, now)
    sent = send_thread_post(runtime, unsaved, "reply", reply, read_back_first=False)
    reply_ts = sent.ts if isinstance(sent, Sent) else None
    due = values["status"] == "pending" or reply_ts is None
    values.update(reply_ts=reply_ts, post_attempts=0 if reply_ts else 1, next_attempt_at=now if due else None)
    if isinstance(sent, Unknown):
        values["posting_since"] = now  # the job reads the thread back before it posts again
    runtime.unsaved.add(Escalation, values)
    runtime.wake(PAGES_JOB)  # the job stores it as soon as the database takes it, then pages
    return str(values["status"])
