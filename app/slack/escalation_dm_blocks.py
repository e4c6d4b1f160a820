"""Pure renderers for an escalation on a team without a pager: the direct message and the thread's outcome."""

from __future__ import annotations

from collections.abc import Sequence

from app.i18n import EN, Translator
from app.slack.blocks import context, escape, plain, section
from app.slack.escalation_blocks import Message, message
from app.slack.words import mention

DM_TEXT_LIMIT = 2500  # the reporter's words, quoted; the thread link carries the rest


def _link(permalink: str | None, t: Translator) -> str:
    # A Slack permalink is Slack's own https URL; escaping keeps a stray '>' or '|' from breaking the link.
    if not permalink:
        return t("Slack gave no link to the message: it is in the team's channel.")
    safe = permalink.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    label = t("Open the thread")
    return f"<{safe}|{label}>"


def escalation_dm(
    team: str,
    reporter: str,
    text: str,
    *,
    priority: str,
    channel: str,
    permalink: str | None,
    t: Translator = EN,
) -> Message:
    """The direct message to one on-call person: who needs them, what they wrote, and the thread."""
    name, quoted = escape(team), escape(plain(text, DM_TEXT_LIMIT))
    head = t(
        ":rotating_light: {reporter} needs the *{team}* on-call person ({priority}) in {channel}:",
        reporter=mention(reporter, t),
        team=name,
        priority=escape(priority),
        channel="<#" + channel + ">",
    )
    body = f"> {quoted}"  # plain() made it one line: one quote
    blocks = [
        section(head),
        section(body),
        section(_link(permalink, t)),
        context(
            t("You are on call for {team}; the team has no pager, so I message you directly.", team=name)
        ),
    ]
    fallback = t(
        "Escalation for {team} ({priority}): {text}", team=team, priority=priority, text=plain(text, 150)
    )
    return message(fallback, blocks)


def dms_sent(user_ids: Sequence[str], problems: str | None, t: Translator = EN) -> Message:
    """The thread's outcome once the on-call people have their direct messages."""
    names = [mention(user_id, t) for user_id in user_ids]
    who = (
        names[0]
        if len(names) == 1
        else t("{names} and {last}", names=t(", ").join(names[:-1]), last=names[-1])
    )
    text = t(
        "No pager to call: I sent {who} a direct message with this message and a link to this thread.",
        who=who,
    )
    blocks = [section(f":incoming_envelope: {text}")]
    if problems:
        blocks.append(context(t("Not reached directly: {problems}", problems=escape(plain(problems, 300)))))
    return message(text, blocks)


def dms_failed(reason: str, t: Translator = EN) -> Message:
    """The thread's outcome when nobody could be sent a direct message."""
    text = t(
        "No pager to call, and I could not message the on-call people directly: {reason}",
        reason=escape(plain(t(reason), 300)),  # the bot's own reasons are message ids; others stay as said
    )
    blocks = [
        section(f":warning: {text}"),
        context(t("The on-call people are tagged above; reach them directly.")),
    ]
    return message(text, blocks)
