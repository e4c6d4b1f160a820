"""The escalation's Slack thread: the reply naming who is on call, and the message telling the page's outcome.

Both are posted through ``app.slack.post`` (every Slack or network failure is a logged None) and recorded
with a conditional UPDATE on their ts column still being NULL, so a post is stored once; a failed post is
counted in ``post_attempts`` and the row stays due, so that the retry job posts what is missing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.config import OncallConfig
from app.runtime import Runtime
from app.services.people import cached_identities
from app.slack import escalation_blocks as render
from app.slack.post import try_post
from app.store.models import Escalation, TeamState
from app.store.repo import latest_snapshot

log = logging.getLogger(__name__)

# After this many failed tries (with the 5-minute backoff cap, about four hours) a page or a thread post
# is given up.
MAX_ATTEMPTS = 50
Post = Literal["reply", "outcome"]


def on_call_now(
    session: Session, config: OncallConfig, team: str
) -> tuple[list[render.Person] | None, datetime | None]:
    """The cached on-call people of ``team`` with their Slack ids, and when the pager last confirmed them."""
    snapshot = latest_snapshot(session, team)
    if snapshot is None:
        return None, None
    known = cached_identities(session, config.people, snapshot.people)
    people: list[render.Person] = []
    for email in snapshot.people:
        slack_id, status = known[email.lower()]
        people.append((email, slack_id if status == "ok" else None))
    state = session.get(TeamState, team)
    as_of = state.last_success_at if state is not None and state.last_success_at else snapshot.last_seen_at
    return people, as_of


def _outcome(status: str) -> render.Outcome:
    if status == "tag_only":
        return "tag"
    return "limited" if status == "limited" else "page"


def reply_message(
    runtime: Runtime,
    row: Escalation,
    people: list[render.Person] | None,
    as_of: datetime | None,
    now: datetime,
) -> render.Message:
    """The thread reply for an escalation: the on-call people and what happens next."""
    return render.escalation_reply(
        row.team,
        people,
        reporter=row.user_id,
        outcome=_outcome(row.status),
        pager=runtime.provider.name,
        priority=row.priority,
        as_of=as_of,
        now=now,
        limit=runtime.config.pages_per_user_per_hour,
    )


def record_post(session: Session, row: Escalation, post: Post, ts: str | None, now: datetime) -> bool:
    """Store a thread post's ts unless one is stored already, or count a failed post; True when posted."""
    if ts is None:
        with session.begin():
            session.execute(
                update(Escalation)
                .where(Escalation.id == row.id)
                .values(post_attempts=Escalation.post_attempts + 1, updated_at=now)
            )
        if row.post_attempts + 1 >= MAX_ATTEMPTS:
            log.error(
                "escalation %s: giving up on its thread %s in %s after %d failed posts",
                row.event_id, post, row.channel, row.post_attempts + 1,
            )  # fmt: skip
        return False
    column = Escalation.reply_ts if post == "reply" else Escalation.outcome_ts
    with session.begin():
        stored = session.execute(
            update(Escalation)
            .where(Escalation.id == row.id, column.is_(None))
            .values({column: ts, Escalation.updated_at: now})
        )
    if not getattr(stored, "rowcount", 0):
        log.warning("escalation %s: its %s was already recorded; keeping the first", row.event_id, post)
    return True


def post_reply(runtime: Runtime, session: Session, row: Escalation, now: datetime) -> bool:
    """Post the thread reply the listener could not, naming who is on call now; True when posted."""
    with session.begin():
        people, as_of = on_call_now(session, runtime.config, row.team)
    payload = reply_message(runtime, row, people, as_of, now)
    ts = try_post(runtime.slack, row.channel, thread_ts=row.thread_ts, **payload)
    if ts is not None:
        log.info("escalation %s: posted the thread reply late", row.event_id)
    return record_post(session, row, "reply", ts, now)


def post_outcome(runtime: Runtime, session: Session, row: Escalation, now: datetime) -> bool:
    """Tell the thread how the page ended: the alert's id, or why it failed; True when posted."""
    pager = runtime.provider.name
    if row.status == "created":
        payload = render.page_confirmed(row.alert_id or "", pager=pager)
    else:
        payload = render.page_failed(row.last_error or "the pager gave no reason", pager=pager)
    ts = try_post(runtime.slack, row.channel, thread_ts=row.thread_ts, **payload)
    return record_post(session, row, "outcome", ts, now)


def permalink_of(runtime: Runtime, channel: str, ts: str) -> str | None:
    """The message's permalink, or None (logged) when Slack does not give one or cannot be reached."""
    try:
        return str(runtime.slack.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
    except (SlackApiError, SlackClientError, OSError, KeyError) as exc:
        # The page matters more than the link: go on without it.
        log.warning("no permalink for %s/%s: %s", channel, ts, exc)
        return None
