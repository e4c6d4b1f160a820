"""Escalation: a mention of the bot tags the team's on-call people in a thread and, if asked, pages them.

The escalation row is the outbox: it is inserted first, keyed on Slack's event_id, so a redelivered or
duplicated event stops right there; the thread reply and the page follow, and the page is retried by
``retry_pending_pages`` until the pager takes it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.config import OncallConfig
from app.domain import Team
from app.runtime import Runtime
from app.services.escalation_pages import (
    LEASE,
    PAGED_STATUSES,
    advance,
    permalink_of,
    post_in_thread,
    retry_pending_pages,  # noqa: F401  (the job, re-exported)
)
from app.slack import escalation_blocks as render
from app.slack.errors import from_sdk
from app.store.models import Escalation, TeamState
from app.store.repo import (
    claim_notice,
    insert_ignoring_duplicates,
    latest_snapshot,
    people_rows,
    release_notice,
)

log = logging.getLogger(__name__)

HELP_WORDS = frozenset({"help", "?", "usage"})
LIMIT_WINDOW = timedelta(hours=1)
# A standalone P1..P5: not inside a word ("MP3", "P10", "SP1") and either case ("p1").
_PRIORITY = re.compile(r"(?<![\w])[Pp]([1-5])(?![\w])")
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


def parse_priority(text: str) -> str | None:
    """The highest standalone ``P1``…``P5`` in ``text`` (P1 beats P3), or None when there is none."""
    found = [int(digit) for digit in _PRIORITY.findall(text)]
    return f"P{min(found)}" if found else None


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


def _on_call(
    session: Session, config: OncallConfig, team: Team
) -> tuple[list[render.Person] | None, datetime | None]:
    """The cached on-call people of ``team`` with their Slack ids, and when the pager last confirmed them."""
    snapshot = latest_snapshot(session, team.name)
    if snapshot is None:
        return None, None
    rows = people_rows(session, snapshot.people)
    people: list[render.Person] = []
    for email in snapshot.people:
        row = rows.get(email.lower())
        if row is None:
            # Not looked up yet: the config's explicit map is still trustworthy.
            people.append((email, config.people.get(email.lower())))
        else:
            people.append((email, row.slack_user_id if row.status == "ok" else None))
    state = session.get(TeamState, team.name)
    as_of = state.last_success_at if state is not None and state.last_success_at else snapshot.last_seen_at
    return people, as_of


def _record(
    session: Session, mention: Mention, team: Team, text: str, on_call: list[str], limit: int, now: datetime
) -> Escalation | None:
    """INSERT the escalation keyed on event_id; None when another delivery already did.

    The per-user page limit is counted after the insert, inside the same write transaction, so two
    mentions racing on two replicas cannot both slip under it.
    """
    status = "pending" if team.pages else "tag_only"
    inserted = insert_ignoring_duplicates(
        session,
        Escalation,
        {
            "event_id": mention.event_id,
            "team": team.name,
            "channel": mention.channel,
            "message_ts": mention.ts,
            "thread_ts": mention.reply_thread,
            "user_id": mention.user,
            "text": text,
            "on_call": on_call,
            "priority": parse_priority(text) or team.priority,
            "status": status,
            # Stable across redeliveries and retries: Opsgenie folds repeats into the open alert.
            "alias": f"slack-{mention.channel}-{mention.ts}" if team.pages else None,
            "attempts": 0,
            # The listener holds the page until it has tried once; after that the job may take it.
            "next_attempt_at": now + LEASE if team.pages else None,
            "created_at": now,
            "updated_at": now,
        },
    )
    if not inserted:
        return None
    row = session.scalars(select(Escalation).where(Escalation.event_id == mention.event_id)).one()
    if row.status == "pending":
        recent = session.scalar(
            select(func.count())
            .select_from(Escalation)
            .where(
                Escalation.user_id == mention.user,
                Escalation.id != row.id,
                Escalation.created_at > now - LIMIT_WINDOW,
                Escalation.status.in_(PAGED_STATUSES),
            )
        )
        if (recent or 0) >= limit:
            session.execute(
                update(Escalation)
                .where(Escalation.id == row.id)
                .values(status="limited", next_attempt_at=None, updated_at=now)
            )
            session.refresh(row)
    return row


def _outcome(status: str) -> render.Outcome:
    if status == "pending":
        return "page"
    return "limited" if status == "limited" else "tag"


def _reply_once(
    runtime: Runtime, mention: Mention, kind: str, payload: render.Message, now: datetime
) -> None:
    """Post a usage or unknown-team reply once per event (the notices table holds the key)."""
    with runtime.sessions.begin() as session:
        claimed = claim_notice(session, "*", kind, mention.event_id, at=now, text=payload["text"])
    if not claimed:
        log.info("mention %s already answered; ignoring the repeat", mention.event_id)
        return
    try:
        runtime.slack.chat_postMessage(channel=mention.channel, thread_ts=mention.reply_thread, **payload)
    except SlackApiError as exc:
        log.warning("could not answer mention %s: %s", mention.event_id, from_sdk("chat.postMessage", exc))
        with runtime.sessions.begin() as session:
            release_notice(session, "*", kind, mention.event_id)


def handle_mention(runtime: Runtime, mention: Mention, now: datetime) -> str | None:
    """Escalate one mention: record it, reply in its thread, then page; returns the escalation's status.

    None when the mention was not an escalation (usage, unknown team) or was a repeat already handled.
    """
    config = runtime.config
    text = strip_bot_mention(mention.text, mention.bot_user_id)
    route = route_mention(config, mention.channel, text)
    names = [team.name for team in config.teams]
    if route.kind == "help":
        _reply_once(runtime, mention, "mention_usage", render.usage(names), now)
        return None
    if route.kind == "unknown_team" or route.team is None:
        _reply_once(runtime, mention, "mention_unknown_team", render.unknown_team(route.word, names), now)
        return None
    team, body = route.team, plain_text(route.body)
    # One session; several short transactions: the row must be committed before anything leaves the
    # process, and no write lock may be held while Slack or the pager is called.
    with runtime.sessions() as session:
        with session.begin():
            people, as_of = _on_call(session, config, team)
            on_call = [email for email, _ in people or []]
            row = _record(session, mention, team, body, on_call, config.pages_per_user_per_hour, now)
        if row is None:
            log.info("escalation %s already recorded; ignoring the repeat delivery", mention.event_id)
            return None
        reply = render.escalation_reply(
            team.name,
            people,
            reporter=mention.user,
            outcome=_outcome(row.status),
            pager=runtime.provider.name,
            priority=row.priority,
            as_of=as_of,
            now=now,
            limit=config.pages_per_user_per_hour,
        )
        reply_ts = post_in_thread(runtime, row.channel, row.thread_ts, reply)
        # The link lets the page and the handover point at the conversation.
        link = permalink_of(runtime, row.channel, row.message_ts)
        with session.begin():
            session.execute(
                update(Escalation).where(Escalation.id == row.id).values(reply_ts=reply_ts, permalink=link)
            )
        log.info("escalation %s for team %s by %s: %s", mention.event_id, team.name, mention.user, row.status)
        if row.status != "pending":
            return row.status
        return advance(runtime, session, row.id, now, team=team)
