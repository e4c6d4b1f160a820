"""Pure renderers of what is said about people before a handover: the day-ahead warning that an incoming
person cannot be reached in Slack (and how to fix it), and a changed shift (who is on call for it now)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from app.i18n import EN, N_, Translator
from app.model.person import Person
from app.slack.blocks import escape, more_names, section
from app.slack.limits import TEXT_CHARS, fit_names
from app.slack.words import when

DASH = "\u2013"  # an en dash between the two ends of a time window
PEOPLE_CHARS = 1_000  # one list of people; the rest are counted

_REASONS = {
    "not_found": N_("no Slack user has this email"),
    "deleted": N_("the Slack account is deactivated"),
    "bot": N_("the Slack account is a bot"),
    "guest": N_("the Slack account is a guest, and guests cannot be in a user group"),
    "unknown": N_("not looked up in Slack yet"),
    "no_email": N_("the pager shows no email for this account (hidden in its Atlassian profile)"),
}


def who(person: Person) -> str:
    """A mention when the person maps to an active Slack member, else the escaped pager identity."""
    return f"<@{person.slack_user_id}>" if person.mapped else escape(person.pager_id)


def people(persons: Sequence[Person], t: Translator = EN) -> str:
    """Comma-separated mentions, or "nobody"."""
    return fit_names([who(p) for p in persons], PEOPLE_CHARS, sep=t(", "), more=more_names(t)) or t("nobody")


def more_items(t: Translator) -> Callable[[int], str]:
    """The pointer after a cut list of problems: the bot's log names them all."""
    return lambda count: t.ngettext(
        "…and {n} more: the bot's log names them all", "…and {n} more: the bot's log names them all", count
    )


def reason(person: Person, t: Translator = EN) -> str:
    """Why a person cannot be mentioned or put in the usergroup."""
    known = _REASONS.get(person.status)
    return t(known) if known else t("Slack status {status}", status=escape(person.status))


def fix(person: Person, t: Translator) -> str:
    """How to make ``person`` reachable in Slack (a ``[people]`` line, or a change in the pager)."""
    line = f'`"{escape(person.pager_id)}" = "U…"`'
    if person.status == "no_email":
        return t("add {line} (their Slack member ID) under `[people]` in the bot's config", line=line)
    if person.status in ("deleted", "bot", "guest"):
        return t(
            "put an active member's Slack ID under `[people]` in the bot's config, "
            "or change the shift in the pager"
        )
    return t(
        "add {line} under `[people]` in the bot's config, "
        "or change the email in the pager to the one Slack knows",
        line=line,
    )


def identity_notice(
    team: str, zone: str, shift_start: datetime, problems: Sequence[Person], t: Translator = EN
) -> dict[str, Any]:
    """The day-ahead warning: whom to fix, and how, before the handover."""
    lines = [
        t("• {who}: {reason}. Fix: {fix}.", who=escape(p.pager_id), reason=reason(p, t), fix=fix(p, t))
        for p in problems
    ]
    head = t(
        "Heads-up for the *{team}* handover on {when} ({zone}): "
        "I cannot reach the incoming on-call person in Slack.",
        team=escape(team),
        when=when(shift_start, zone, t),
        zone=escape(zone),
    )
    text = t("Heads-up: the incoming on-call person of {team} cannot be reached in Slack", team=team)
    listed = fit_names(lines, TEXT_CHARS, sep="\n", pointer_sep="\n", more=more_items(t))
    return {"text": text, "blocks": [section(head), section(listed)] if listed else [section(head)]}


def shift_change_notice(
    team: str,
    zone: str,
    start: datetime,
    end: datetime | None,
    before: Sequence[Person],
    after: Sequence[Person],
    t: Translator = EN,
) -> dict[str, Any]:
    """One changed shift, e.g. "Tue 7 Apr 09:00-Wed 8 Apr 09:00 is now Bob, was Alice" (an en dash)."""
    now_on, was = people(after, t), people(before, t)
    if end:
        window = f"{when(start, zone, t)}{DASH}{when(end, zone, t)}"
        line = t("{window} is now {after}, was {before}", window=window, after=now_on, before=was)
    else:
        line = t(
            "From {start} on, it is now {after}, was {before}",
            start=when(start, zone, t),
            after=now_on,
            before=was,
        )
    head = t("*Shift change for {team}* ({zone}): {line}.", team=escape(team), zone=escape(zone), line=line)
    return {"text": t("Shift change for {team}: {line}.", team=team, line=line), "blocks": [section(head)]}
