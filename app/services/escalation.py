"""Escalation: a mention of the bot tags the team's on-call people in a thread and, if asked, pages them.

The escalation row is the outbox: it is inserted first, keyed on Slack's event_id, so a redelivered or
duplicated event stops right there. The listener then only replies in the thread; the page (and any thread
post Slack refused) is left due for ``retry_pending_pages``, the 15-second job, so that a slow pager never
holds one of Bolt's few listener threads. The listener holds the row's lease from the insert until it has
recorded its reply, and writes nothing once the job has taken the row over (a reply slower than the lease).

When the database refuses the insert (locked past the busy timeout, disk full), the reply still goes out
and the row waits in memory (``Runtime.unsaved``) until the page job stores it and pages; a crash before
that loses the page, never the reply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.chat import Sent, Unknown
from app.domain import Team
from app.i18n import translator
from app.model.messages import MentionUnknownTeam, MentionUsage
from app.oncall_config import OncallConfig
from app.runtime import Runtime
from app.services.escalation_asks import (
    answer_courtesy,
    answer_who,
    escalation_of_thread,
    follow_up,
    reply_once,
)
from app.services.escalation_intent import HELP_WORDS, Intent, parse_priority, read_intent
from app.services.escalation_pages import (
    PAGED_STATUSES,
    PAGES_JOB,
    retry_pending_pages,  # noqa: F401  (the job, re-exported)
)
from app.services.escalation_thread import (
    ESCALATION_LEASE,
    LeaseLost,
    hold,
    new_lease,
    on_call_now,
    permalink_of,
    record_post,
    reply_message,
    send_thread_post,
)
from app.services.members import may_page
from app.services.slack_users import cached_language
from app.store.db import reading
from app.store.models import Escalation
from app.store.repo import insert_ignoring_duplicates

log = logging.getLogger(__name__)

LIMIT_WINDOW = timedelta(hours=1)
# A leading team name, "data: ..." or "data ...".
_LEADING_WORD = re.compile(r"^([A-Za-z0-9][\w.-]*)(?:\s*(:)\s*|\s+|$)(.*)$", re.DOTALL)
# Slack's markup in message text, <...>: mentions, channels, special mentions and links.
_MARKUP = re.compile(r"<([^<>]*)>")


@dataclass(frozen=True)
class Mention:
    """One app_mention event, as much of it as escalation needs."""

    event_id: str
    channel: str
    user: str
    text: str
    ts: str
    thread_ts: str | None = None
    bot_user_id: str | None = None

    @property
    def reply_thread(self) -> str:
        """The thread to answer in: the mention's own thread, or a new one on the message."""
        return self.thread_ts or self.ts


@dataclass(frozen=True)
class Route:
    """What a mention asks for: an escalation to ``team`` with ``body``, the usage, or an unknown team.

    ``word`` is the unknown team's name when the text started like ``sales: …``.
    """

    kind: Literal["escalate", "help", "unknown_team"]
    team: Team | None = None
    body: str = ""
    word: str | None = None


def mention_from_event(event: Mapping[str, Any], *, event_id: str | None, bot_user_id: str | None) -> Mention:
    """Read the fields escalation needs from a Slack app_mention event."""
    channel, ts = str(event.get("channel") or ""), str(event.get("ts") or "")
    thread_ts = event.get("thread_ts")
    return Mention(
        # Without an event id (never seen from Slack) the message itself is still unique.
        event_id=str(event_id or f"{channel}-{ts}"),
        channel=channel,
        user=str(event.get("user") or ""),
        text=str(event.get("text") or ""),
        ts=ts,
        thread_ts=str(thread_ts) if thread_ts else None,
        bot_user_id=bot_user_id,
    )


def strip_bot_mention(text: str, bot_user_id: str | None) -> str:
    """The text without the bot's own mention(s); without a known bot id, without a leading mention."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    else:
        text = re.sub(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>", " ", text)
    return text.strip()


def _readable(inner: str) -> str:
    """One piece of Slack markup (the text between < and >) as plain words."""
    target, _, label = inner.partition("|")
    if target.startswith(("@", "#")):
        return label if label.startswith(("@", "#")) else target[0] + (label or target[1:])
    if target.startswith("!subteam^"):
        return label or "@" + target.removeprefix("!subteam^")
    if target.startswith("!"):
        return label or "@" + target[1:].split("^")[0]
    return f"{label} ({target})" if label and label != target else target


def plain_text(slack_text: str) -> str:
    """Slack message text as plain text for the pager and the record: markup resolved, entities decoded."""
    text = _MARKUP.sub(lambda match: _readable(match.group(1)), slack_text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def route_mention(config: OncallConfig, channel: str, text: str) -> Route:
    """Decide the team (a leading team name, else the channel's team, else the only team) and the body."""
    if text.lower() in HELP_WORDS or not text:
        return Route("help")
    match = _LEADING_WORD.match(text)
    named = config.team(match.group(1)) if match else None
    team: Team | None
    if named is not None and match is not None:
        team, body = named, match.group(3).strip()
    else:
        team, body = config.team_for_channel(channel), text
        if team is None and len(config.teams) == 1:
            team = config.teams[0]
        if team is None:
            colon_word = match.group(1) if match and match.group(2) else None
            return Route("unknown_team", word=colon_word)
    if not body or body.lower() in HELP_WORDS:
        return Route("help")
    return Route("escalate", team=team, body=body)


def _values(
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


def _over_limit(session: Session, user: str, limit: int, now: datetime, *, besides: int | None) -> bool:
    """True when ``user`` already had ``limit`` paged escalations within the last hour."""
    recent = session.scalar(
        select(func.count())
        .select_from(Escalation)
        .where(
            Escalation.user_id == user,
            Escalation.id != (besides if besides is not None else -1),
            Escalation.created_at > now - LIMIT_WINDOW,
            Escalation.status.in_(PAGED_STATUSES),
        )
    )
    return (recent or 0) >= limit


def _record(
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
    if row.status == "pending" and _over_limit(session, row.user_id, limit, now, besides=row.id):
        session.execute(
            update(Escalation).where(Escalation.id == row.id).values(status="limited", updated_at=now)
        )
        session.refresh(row)
    return row


def _reply_unrecorded(
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
                limited = _over_limit(session, mention.user, limit, now, besides=None)
    except SQLAlchemyError as read_error:
        log.warning("escalation %s: the cache cannot be read either: %s", mention.event_id, read_error)
    values = _values(mention, team, body, [email for email, _ in people or []], now, pages=pages)
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


def _answered_without_escalating(
    runtime: Runtime, mention: Mention, team: Team, intent: Intent, names: list[str], now: datetime
) -> bool:
    """Answer help, thanks, a follow-up in an escalated thread or "who is on call?"; False for the rest."""
    if intent.kind == "help":
        reply_once(runtime, mention, "mention_usage", MentionUsage(tuple(names), team.language), now)
        return True
    if intent.kind == "courtesy":
        answer_courtesy(runtime, mention, now)
        return True
    earlier = escalation_of_thread(runtime, mention.channel, mention.thread_ts)
    if earlier is not None:  # one alert per thread: this mention joins the escalation already here
        follow_up(runtime, mention, earlier, plain_text(intent.body), now)
        return True
    if intent.kind == "who":
        answer_who(runtime, mention, team, now)
        return True
    return False


def _may_page_now(runtime: Runtime, mention: Mention, team: Team) -> bool:
    """True when the asker may page; a guest or bot is told privately, an unknown asker gets the button."""
    verdict = may_page(runtime, mention.user, guests_may_page=team.guests_may_page)
    if verdict in ("guest", "bot"):
        log.info(
            "mention %s asked to page; %s is a %s: tagging only", mention.event_id, mention.user, verdict
        )
        t = translator(cached_language(runtime, mention.user, team.language))  # a private sentence: theirs
        text = t("Guests and bots cannot page from Slack here; I tagged the on-call people instead.")
        runtime.slack.try_ephemeral(mention.channel, mention.user, text=text, thread_ts=mention.reply_thread)
    return verdict == "member"


def handle_mention(runtime: Runtime, mention: Mention, now: datetime) -> str | None:
    """Escalate one mention: record it and reply in its thread; returns the escalation's status.

    The listener never calls the pager: a ``pending`` row is left due for ``retry_pending_pages``, as is
    a row whose reply Slack refused. None when the mention was not an escalation (usage, unknown team)
    or was a repeat already handled.
    """
    config = runtime.config
    text = strip_bot_mention(mention.text, mention.bot_user_id)
    route = route_mention(config, mention.channel, text)
    names = [team.name for team in config.teams]
    language = config.channel_language(mention.channel)  # the thread is in this channel
    if route.kind == "help":
        reply_once(runtime, mention, "mention_usage", MentionUsage(tuple(names), language), now)
        return None
    if route.kind == "unknown_team" or route.team is None:
        unknown = MentionUnknownTeam(route.word, tuple(names), language)
        reply_once(runtime, mention, "mention_unknown_team", unknown, now)
        return None
    team, intent = route.team, read_intent(route.body, team_pages=route.team.pages)
    if _answered_without_escalating(runtime, mention, team, intent, names, now):
        return None
    body = plain_text(intent.body)
    pages = intent.kind == "page" and _may_page_now(runtime, mention, team)
    lease = new_lease()
    # One session, several short transactions: the row is committed before anything leaves the
    # process, and no write lock is held while Slack is called. The heartbeat renews the listener's
    # lease while it works; a killed process's row is free again within one lease.
    with runtime.leases.holding(ESCALATION_LEASE, lease), runtime.sessions() as session:
        try:
            with session.begin():
                people, as_of = on_call_now(session, config, team.name)
                values = _values(mention, team, body, [email for email, _ in people or []], now, pages=pages)
                limit, until = config.pages_per_user_per_hour, runtime.leases.until(now)
                row = _record(session, values, limit, lease, until, now)
        except SQLAlchemyError as error:
            return _reply_unrecorded(runtime, mention, team, body, now, error, pages=pages)
        if row is None:
            log.info("escalation %s already recorded; ignoring the repeat delivery", mention.event_id)
            return None
        reply = reply_message(runtime, row, people, as_of, now)
        sent = send_thread_post(runtime, row, "reply", reply, read_back_first=False)
        reply_ts = sent.ts if isinstance(sent, Sent) else None
        record_post(session, row, "reply", reply_ts, now, lease, unknown=isinstance(sent, Unknown))
        # Release the row: due now when a page or the reply is still owed, else done.
        due = now if row.status == "pending" or reply_ts is None else None
        try:
            hold(session, row.id, lease, now, next_attempt_at=due, lease_token=None)
        except LeaseLost:
            log.warning(
                "escalation %s: the reply outlasted the lease; the job has taken it over", row.event_id
            )
            due = None
        # The link lets the page and the handover point at the conversation; it is the same whoever asks.
        link = permalink_of(runtime, row.channel, row.message_ts)
        if link is not None:
            with session.begin():
                session.execute(
                    update(Escalation)
                    .where(Escalation.id == row.id, Escalation.permalink.is_(None))
                    .values(permalink=link)
                )
        log.info("escalation %s for team %s by %s: %s", mention.event_id, team.name, mention.user, row.status)
    if due is not None:
        runtime.wake(PAGES_JOB)  # page now, on the scheduler's thread, not in 15 s and not on Bolt's
    return row.status
