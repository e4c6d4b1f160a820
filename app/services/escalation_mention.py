"""A mention as escalation reads it: the event's fields, the bot's own mention stripped, Slack markup as
plain text, and the team it is for (a leading team name, the channel's team, or the only team)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from app.domain import Team
from app.oncall_config import OncallConfig
from app.services.escalation_intent import HELP_WORDS

# A leading team name, "data: ..." or "data ...".
_LEADING_WORD = re.compile(r"^([A-Za-z0-9][\w.-]*)(?:\s*(:)\s*|\s+|$)(.*)$", re.DOTALL)
# Slack's markup in message text, <...>: mentions, channels, special mentions and links.
_MARKUP = re.compile(r"<([^<>]*)>")


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
