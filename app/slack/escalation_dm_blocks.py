"""Pure renderers for an escalation on a team without a pager: the direct message and the thread's outcome."""

from __future__ import annotations

from collections.abc import Sequence

from app.slack.blocks import context, escape, plain, section
from app.slack.escalation_blocks import Message, mention, message

DM_TEXT_LIMIT = 2500  # the reporter's words, quoted; the thread link carries the rest


def _link(permalink: str | None) -> str:
    # A Slack permalink is Slack's own https URL; escaping keeps a stray '>' or '|' from breaking the link.
    if not permalink:
        return "Slack gave no link to the message: it is in the team's channel."
    safe = permalink.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{safe}|Open the thread>"


def escalation_dm(
    team: str, reporter: str, text: str, *, priority: str, channel: str, permalink: str | None
) -> Message:
    """The direct message to one on-call person: who needs them, what they wrote, and the thread."""
    name, quoted = escape(team), escape(plain(text, DM_TEXT_LIMIT))
    head = (
        f":rotating_light: {mention(reporter)} needs the *{name}* on-call person ({escape(priority)}) "
        f"in <#{channel}>:"
    )
    body = f"> {quoted}"  # plain() made it one line: one quote
    blocks = [
        section(head),
        section(body),
        section(_link(permalink)),
        context(f"You are on call for {name}; the team has no pager, so I message you directly."),
    ]
    fallback = f"Escalation for {team} ({priority}): {plain(text, 150)}"
    return message(fallback, blocks)


def dms_sent(user_ids: Sequence[str], problems: str | None) -> Message:
    """The thread's outcome once the on-call people have their direct messages."""
    names = [mention(user_id) for user_id in user_ids]
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    text = f"No pager to call: I sent {who} a direct message with this message and a link to this thread."
    blocks = [section(f":incoming_envelope: {text}")]
    if problems:
        blocks.append(context(f"Not reached directly: {escape(plain(problems, 300))}"))
    return message(text, blocks)


def dms_failed(reason: str) -> Message:
    """The thread's outcome when nobody could be sent a direct message."""
    text = (
        f"No pager to call, and I could not message the on-call people directly: {escape(plain(reason, 300))}"
    )
    blocks = [
        section(f":warning: {text}"),
        context("The on-call people are tagged above; reach them directly."),
    ]
    return message(text, blocks)
