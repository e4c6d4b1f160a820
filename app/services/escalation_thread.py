"""The escalation's Slack thread: the reply naming who is on call, and the message telling the page's outcome.

Both are posted once through the Slack gateway (a post with a key, read back when its outcome is
unknown) and recorded with a conditional UPDATE on their ts column still being NULL, so a post is stored
once; a failed post is counted in ``post_attempts`` and the row stays due, so that the retry job posts
what is missing. Every write is made under the row's lease (``app.services.escalation_lease``).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.chat import Key, PostResult, ReadBackFailed, Sent, SlackCallFailed, Unknown
from app.domain import AlertRef
from app.i18n import N_
from app.model.buttons import EscalationButtons
from app.model.messages import (
    EscalationReply,
    Message,
    PageOutcome,
    ReplyOutcome,
    WithButtons,
)
from app.model.person import Person
from app.oncall_config import OncallConfig
from app.runtime import Runtime
from app.services.escalation_dms import dm_outcome
from app.services.escalation_lease import MAX_ATTEMPTS, LeaseLost, hold
from app.services.person_views import cached_persons
from app.store.models import Escalation, TeamState
from app.store.repo import latest_snapshot

log = logging.getLogger(__name__)

Post = Literal["reply", "outcome"]
EVENT_TYPE = "oncall_thread"  # the metadata event type of the bot's thread posts


def on_call_now(
    session: Session, config: OncallConfig, team: str
) -> tuple[list[Person] | None, datetime | None]:
    """The cached on-call people of ``team`` with their Slack ids, and when the pager last confirmed them."""
    snapshot = latest_snapshot(session, team)
    if snapshot is None:
        return None, None
    people = cached_persons(session, config.people, snapshot.people)
    state = session.get(TeamState, team)
    as_of = state.last_success_at if state is not None and state.last_success_at else snapshot.last_seen_at
    return people, as_of


def _outcome(status: str, can_page: bool, team_pages: bool) -> ReplyOutcome:
    if status == "tag_only":
        return "offer" if team_pages else "tag"  # a paging team's mention that did not ask to page
    if status == "limited":
        return "limited"
    return "page" if can_page else "dm"


def reply_message(
    runtime: Runtime,
    row: Escalation,
    people: list[Person] | None,
    as_of: datetime | None,
    now: datetime,
) -> Message:
    """The thread reply for an escalation: the on-call people and what happens next."""
    provider = runtime.providers.for_team(row.team)
    team = runtime.config.team(row.team)
    outcome = _outcome(row.status, provider.can_page, team is not None and team.pages)
    buttons = None
    if row.id is not None and outcome == "offer":  # a paging team's mention that did not ask: offer it
        buttons = EscalationButtons(row.id, "page", row.priority)
    elif row.id is not None and outcome in ("tag", "limited"):  # open until someone resolves it
        buttons = EscalationButtons(row.id, "resolve")
    reply = EscalationReply(
        row.team,
        tuple(people) if people is not None else None,
        reporter=row.user_id,
        outcome=outcome,
        pager=provider.name,
        priority=row.priority,
        as_of=as_of,
        now=now,
        limit=runtime.config.pages_per_user_per_hour,
        language=runtime.config.team_language(row.team),  # a thread in the team's channel
    )
    return WithButtons(reply, buttons) if buttons is not None else reply


def record_post(
    session: Session,
    row: Escalation,
    post: Post,
    ts: str | None,
    now: datetime,
    lease: str,
    *,
    unknown: bool = False,
) -> bool:
    """Store a thread post's ts unless one is stored already, or count a failed post; True when posted.

    A failure is counted only under ``lease``: the worker that took the row over decides on retries. A post
    that landed is stored even after the lease was lost (it exists in the thread; forgetting it would
    bring a second one), but never over one already stored.
    """
    if ts is None:
        # An unknown outcome keeps posting_since: the next attempt reads the thread back before posting.
        since: dict[str, Any] = {} if unknown else {"posting_since": None}
        try:
            hold(session, row.id, lease, now, post_attempts=Escalation.post_attempts + 1, **since)
        except LeaseLost:
            log.warning(
                "escalation %s: its %s failed after the lease was lost; the new holder retries it",
                row.event_id, post,
            )  # fmt: skip
            return False
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
            .values({column: ts, Escalation.posting_since: None, Escalation.updated_at: now})
        )
    if not getattr(stored, "rowcount", 0):
        log.warning("escalation %s: its %s was already recorded; keeping the first", row.event_id, post)
    return True


def _find(runtime: Runtime, row: Escalation, key: Key) -> str | None:
    return runtime.slack.find_once(row.channel, key, thread_ts=row.thread_ts)


def send_thread_post(
    runtime: Runtime, row: Escalation, post: Post, payload: Message, *, read_back_first: bool
) -> PostResult:
    """Post in the escalation's thread once: an earlier attempt that may have landed is looked for first.

    After a post whose outcome is unknown, the thread is read back (after the settle delay) as well.
    """
    key = Key(EVENT_TYPE, f"{row.event_id}|{post}")
    try:
        found = _find(runtime, row, key) if read_back_first else None
    except ReadBackFailed as failure:
        log.error("escalation %s: cannot tell whether its %s was posted: %s", row.event_id, post, failure)
        return Unknown(str(failure))
    if found is not None:
        log.info("escalation %s: its %s was posted by an earlier attempt", row.event_id, post)
        return Sent(found, row.channel)
    result = runtime.slack.post_once(row.channel, key, payload, thread_ts=row.thread_ts)
    if not isinstance(result, Unknown):
        if not isinstance(result, Sent):
            log.error("could not post in %s: %s", row.channel, result.reason)
        return result
    time.sleep(runtime.settle_seconds)
    try:
        found = _find(runtime, row, key)
    except ReadBackFailed as failure:
        log.warning("escalation %s: %s outcome unknown (%s): %s", row.event_id, post, result.reason, failure)
        return result
    return Sent(found, row.channel) if found is not None else result


def post_thread(
    runtime: Runtime,
    session: Session,
    row: Escalation,
    post: Post,
    payload: Message,
    now: datetime,
    lease: str,
) -> str | None:
    """Post ``payload`` in the thread (once) and record how it went; the ts, or None when not posted."""
    # posting_since still set: an earlier attempt was sent and never recorded (a crash, an unknown outcome).
    earlier = row.posting_since is not None
    hold(session, row.id, lease, now, posting_since=now)
    result = send_thread_post(runtime, row, post, payload, read_back_first=earlier)
    ts = result.ts if isinstance(result, Sent) else None
    record_post(session, row, post, ts, now, lease, unknown=isinstance(result, Unknown))
    return ts


def post_reply(runtime: Runtime, session: Session, row: Escalation, now: datetime, lease: str) -> bool:
    """Post the thread reply the listener could not, naming who is on call now; True when posted."""
    with session.begin():
        people, as_of = on_call_now(session, runtime.config, row.team)
    payload = reply_message(runtime, row, people, as_of, now)
    ts = post_thread(runtime, session, row, "reply", payload, now, lease)
    if ts is not None:
        log.info("escalation %s: posted the thread reply late", row.event_id)
    return ts is not None


def post_outcome(runtime: Runtime, session: Session, row: Escalation, now: datetime, lease: str) -> bool:
    """Tell the thread how the page ended: the alert's id, why it failed, or that it went unconfirmed."""
    provider = runtime.providers.for_team(row.team)
    alerted = provider.can_page and row.status in ("created", "unconfirmed")
    buttons = EscalationButtons(row.id, "alert" if alerted else "resolve")
    language = runtime.config.team_language(row.team)
    if not provider.can_page:
        with session.begin():
            payload = dm_outcome(session, row, language)
    else:
        alert = AlertRef(alias=row.alias or "", alert_id=row.alert_id)
        url = provider.alert_url(alert) if row.status == "created" else None
        payload = page_outcome(row, provider.name, language, url=url)
    payload = WithButtons(payload, buttons)
    return post_thread(runtime, session, row, "outcome", payload, now, lease) is not None


def page_outcome(
    row: Escalation, pager: str, language: str, *, alert_id: str = "", url: str | None = None
) -> PageOutcome:
    """What came of ``row``'s page: its alert (``alert_id`` when the row has none), unconfirmed, or failed."""
    reason = row.last_error or N_("the pager gave no reason")
    if row.status == "created":
        return PageOutcome("confirmed", pager, row.alert_id or alert_id, url, language=language)
    if row.status == "unconfirmed":
        request = row.alert_request_id or "?"
        return PageOutcome("unconfirmed", pager, reason=reason, request_id=request, language=language)
    return PageOutcome("failed", pager, reason=reason, language=language)


def permalink_of(runtime: Runtime, channel: str, ts: str) -> str | None:
    """The message's permalink, or None (logged) when Slack does not give one or cannot be reached."""
    try:
        return runtime.slack.permalink(channel, ts)
    except SlackCallFailed as exc:
        # The page matters more than the link: go on without it.
        log.warning("no permalink for %s/%s: %s", channel, ts, exc)
        return None
