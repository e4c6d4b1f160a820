"""Pure renderers: domain values in, Block Kit payloads out. No I/O here."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

Blocks = list[dict[str, Any]]


def escape(text: str) -> str:
    """Escape user or pager text for mrkdwn so it can never form a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str) -> dict[str, Any]:
    """A mrkdwn section block."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> dict[str, Any]:
    """A small grey mrkdwn context line."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def ephemeral(text: str, blocks: Blocks) -> dict[str, Any]:
    """An ephemeral slash-command answer with a plain-text fallback."""
    return {"response_type": "ephemeral", "text": text, "blocks": blocks}


HELP_LINES = (
    ("/oncall", "who is on call now (this channel's team, or every team)"),
    ("/oncall <team>", "who is on call now for that team"),
    ("/oncall next [team]", "who takes over next, and when"),
    ("/oncall week [team]", "the shifts of the next 7 days"),
    ("/oncall me", "your current and next shifts"),
    ("/oncall help", "this help"),
)


def help_message(team_names: list[str], not_understood: str | None = None) -> dict[str, Any]:
    """The /oncall usage, optionally saying which words were not understood."""
    usage = "\n".join(f"`{command}` {what}" for command, what in HELP_LINES)
    blocks: Blocks = []
    fallback = "How to use /oncall"
    if not_understood is not None:
        shown = escape(not_understood[:80]) + ("…" if len(not_understood) > 80 else "")
        blocks.append(section(f"Sorry, I did not understand `{shown}`."))
        fallback = "Sorry, I did not understand that. How to use /oncall"
    blocks.append(section(f"*How to use /oncall*\n{usage}"))
    if team_names:
        blocks.append(context("Teams: " + ", ".join(escape(name) for name in team_names)))
    blocks.append(context("Mention me in a channel to reach the person on call: `@oncall-bot db is down`"))
    return ephemeral(fallback, blocks)


SECTION_LIMIT = 3000  # Slack's maximum length of a section's text
MESSAGE_BLOCKS = 50  # the most blocks a message (and so an ack payload) may hold
_CONTROL = dict.fromkeys([*range(32), *range(127, 160)], " ")
_MASS_WORD = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)


def plain(text: str, limit: int = 200) -> str:
    """Untrusted text made safe to echo: control characters gone, mass mentions broken, length capped.

    The result still needs ``escape``; this only removes what escaping alone leaves readable as
    ``@here``-style words, which Slack may turn into mentions when it parses plain text.
    """
    cleaned = _MASS_WORD.sub("@\u2060", " ".join(text.translate(_CONTROL).split()))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def fit_sections(lines: list[str], limit: int = SECTION_LIMIT) -> Blocks:
    """Pack mrkdwn lines into as few sections as fit Slack's length limit (a too-long line is cut)."""
    packed: Blocks = []
    current = ""
    for raw in lines:
        line = raw if len(raw) <= limit else raw[: limit - 1] + "…"
        if current and len(current) + 1 + len(line) > limit:
            packed.append(section(current))
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        packed.append(section(current))
    return packed


def cap_blocks(blocks: Blocks, limit: int, note: str) -> Blocks:
    """At most ``limit`` blocks: when there are more, the last kept one is a context saying ``note``."""
    if len(blocks) <= limit:
        return blocks
    return [*blocks[: limit - 1], context(note)]


def ago(delta: timedelta) -> str:
    """``just now``, ``2 min ago``, ``3 h 5 min ago``, ``2 days ago``."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min ago" if rest else f"{hours} h ago"
    return f"{minutes // (24 * 60)} days ago"
