"""Pure renderers: domain values in, Block Kit payloads out. No I/O here."""

from __future__ import annotations

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
