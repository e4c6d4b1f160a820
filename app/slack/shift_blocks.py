"""Pure renderers for the messages about shifts: the reminder, the "Got it" button and what follows it,
and the digest of shift changes. Every word goes through the translator (``app.i18n``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.i18n import EN, Translator
from app.model.buttons import GOT_IT_ACTION, GotItDone
from app.model.messages import (
    AckMissing,
    AckReminder,
    GotItRefused,
    HandoverPost,
    IncomingDm,
    ShiftChange,
    ShiftDigest,
    TeamShift,
)
from app.model.person import Person
from app.slack import handover_blocks as hand
from app.slack.blocks import context, escape, section
from app.slack.handover_blocks import bullets
from app.slack.limits import fit_names
from app.slack.person_notices import DASH, PEOPLE_CHARS, who
from app.slack.words import when

Block = dict[str, Any]

SAME_WEEK = timedelta(days=6)
TEXT_LISTED = 3  # changes spelled out in the digest's notification text; the post lists them all
CHECK = "\u2713"


def bold(text: str) -> str:
    """``*text*`` (mrkdwn bold)."""
    return f"*{text}*"


def moment(at: datetime, zone: str, now: datetime, t: Translator = EN) -> str:
    """``09:00`` today, ``Tue 09:00`` within the week, else ``Mon 6 Apr 09:00`` (``zone``'s wall clock)."""
    local, today = at.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone))
    if local.date() == today.date():
        return t.time(local)
    if abs(at - now) < SAME_WEEK:
        return t.weekday_time(local)
    return when(at, zone, t)


def duration(delta: timedelta, t: Translator = EN) -> str:
    """``45 min``, ``1 h``, ``1 h 30 min`` (whole minutes, rounded up: never "0 min" before a start)."""
    minutes = max(1, -(-int(delta.total_seconds()) // 60))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return t("{minutes} min", minutes=rest)
    return t("{hours} h {minutes} min", hours=hours, minutes=rest) if rest else t("{hours} h", hours=hours)


def reminder(
    team: str, zone: str, start: datetime, end: datetime | None, now: datetime, t: Translator = EN
) -> dict[str, Any]:
    """ "Your data shift starts at 09:00 (in 1 h) and runs to Tue 09:00 (Europe/Amsterdam).\""""

    def line(name: str) -> str:
        values = {"team": name, "start": moment(start, zone, now, t), "wait": duration(start - now, t)}
        if end is None:
            return t("Your {team} shift starts at {start} (in {wait}) ({zone}).", zone=escape(zone), **values)
        return t(
            "Your {team} shift starts at {start} (in {wait}) and runs to {end} ({zone}).",
            end=moment(end, zone, now, t),
            zone=escape(zone),
            **values,
        )

    return {"text": line(team), "blocks": [section(line(bold(escape(team))))]}


def got_it_actions(value: str, t: Translator = EN) -> Block:
    """The "Got it" button, carrying the handover it confirms."""
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": t("Got it")},
        "action_id": GOT_IT_ACTION,
        "value": value,
        "style": "primary",
    }
    return {"type": "actions", "block_id": GOT_IT_ACTION, "elements": [button]}


def _and(names: Sequence[str], t: Translator) -> str:
    if len(names) == 1:
        return names[0]
    return t("{names} and {last}", names=t(", ").join(names[:-1]), last=names[-1])


def has_it(acked_by: Sequence[str], t: Translator = EN) -> str:
    """``✓ <@U1> has it`` (``have it`` for several)."""
    names = _and([f"<@{user}>" for user in acked_by], t)
    return t.ngettext(
        "{check} {people} has it", "{check} {people} have it", len(acked_by), check=CHECK, people=names
    )


def handover_post(post: HandoverPost, t: Translator = EN) -> dict[str, Any]:
    """The handover post; once confirmed, who has it, right under the headline."""
    message = hand.handover_message(post.view, t)
    if not post.acked_by:
        return message
    line = has_it(post.acked_by, t)
    blocks = list(message["blocks"])
    blocks.insert(2, context(line))  # after the header and the headline with the window
    return {"text": f"{message['text']} ({line})", "blocks": blocks}


def incoming_dm(dm: IncomingDm, t: Translator = EN) -> dict[str, Any]:
    """The incoming person's DM, with the "Got it" button when the handover asks for one."""
    message = hand.incoming_dm(dm.view, t)
    if dm.got_it is None:
        return message
    return {**message, "blocks": [*message["blocks"], got_it_actions(dm.got_it, t)]}


def _got_it_words(shift: TeamShift, t: Translator, *, plain: bool = False) -> dict[str, str]:
    """What a "Got it" message names: the team and the button (in bold unless ``plain``), when, the zone."""
    at = {"when": when(shift.start, shift.zone, t), "zone": escape(shift.zone)}
    if plain:
        return {**at, "team": shift.team, "button": t("Got it")}
    return {**at, "team": bold(escape(shift.team)), "button": bold(t("Got it"))}


def ack_reminder(reminder: AckReminder, t: Translator = EN) -> dict[str, Any]:
    """The reminder to press "Got it"."""
    text, plain = (
        t(
            "Please confirm the {team} handover of {when} ({zone}): press {button} once you have it.",
            **_got_it_words(reminder.shift, t, plain=bare),
        )
        for bare in (False, True)
    )
    return {"text": plain, "blocks": [section(text), got_it_actions(reminder.got_it, t)]}


def _people(persons: Sequence[Person], t: Translator) -> str:
    return _and([who(p) for p in persons], t) if persons else t("nobody")


def ack_missing(missing: AckMissing, t: Translator = EN) -> dict[str, Any]:
    """The channel hears that the handover is not confirmed; the outgoing people stay reachable."""
    words = _got_it_words(missing.shift, t)
    text = t(
        "The {team} handover of {when} ({zone}) is not confirmed: {waiting} did not press {button} yet.",
        waiting=_people(missing.waiting, t),
        **words,
    )
    if missing.outgoing:
        text += " " + t("{people}, please stay reachable until it is.", people=_people(missing.outgoing, t))
    plain_words = _got_it_words(missing.shift, t, plain=True)
    plain = t("The {team} handover of {when} ({zone}) is not confirmed yet.", **plain_words)
    return {"text": plain, "blocks": [section(text)]}


def got_it_done(done: GotItDone, t: Translator = EN) -> dict[str, Any]:
    """The pressed message again, the button replaced by when it was pressed."""
    kept = [b for b in done.pressed if b.get("block_id") != GOT_IT_ACTION]
    line = t(
        "{check} You have it (confirmed {when})", check=CHECK, when=moment(done.at, done.zone, done.at, t)
    )
    first = next((b["text"]["text"] for b in kept if b.get("type") == "section" and b.get("text")), "")
    return {"text": f"{first} {line}".strip(), "blocks": [*kept, context(line)]}


def got_it_refused(refused: GotItRefused, t: Translator = EN) -> dict[str, Any]:
    """Why a "Got it" press changed nothing (only the presser sees it)."""
    if refused.why == "again":
        text = t("You have already confirmed this handover.")
    elif refused.why == "not_yours":
        names = [f"<@{user}>" for user in refused.incoming]
        text = t(
            "Only {people} can confirm this handover; nothing was changed.",
            people=_and(names, t) if names else t("the incoming person"),
        )
    else:
        text = t("I no longer know this handover; nothing was changed.")
    return {"text": text, "blocks": [section(text)]}


def named(person: Person) -> str:
    """Who someone is without pinging them: their Slack name, else the pager's identity (escaped)."""
    return escape(person.name or person.pager_id)


def _window(change: ShiftChange, t: Translator) -> str:
    start, zone = change.shift.start, change.shift.zone
    if change.end is None:
        return t("from {start} on", start=when(start, zone, t))
    local_end = change.end.astimezone(ZoneInfo(zone))
    same_day = start.astimezone(ZoneInfo(zone)).date() == local_end.date()
    end = t.time(local_end) if same_day else when(change.end, zone, t)
    return f"{when(start, zone, t)}{DASH}{end}"


def _names(persons: Sequence[str], t: Translator) -> str:
    return fit_names(list(persons), PEOPLE_CHARS, sep=t(", ")) or t("nobody")


def _change_line(change: ShiftChange, t: Translator) -> str:
    """``• Tue 31 Mar 09:00-21:00: bob → <@carol>``: only who takes the shift over is mentioned."""
    staying = {p.pager_id for p in change.before}
    before = _names([named(p) for p in change.before], t)
    after = _names([named(p) if p.pager_id in staying else who(p) for p in change.after], t)
    return f"• {_window(change, t)}: {before} \u2192 {after}"


def digest(message: ShiftDigest, t: Translator = EN) -> dict[str, Any]:
    """All changes to the coming week's shifts, one line each, in one post."""
    head = t(
        "*Shift changes for {team}* ({zone}), the coming week:",
        team=escape(message.team),
        zone=escape(message.zone),
    )

    def more(count: int) -> str:
        return t("…and {count} more: /oncall week shows them all", count=count)

    listed = bullets(head, [_change_line(c, t) for c in message.changes], more)
    plain = t("; ").join(
        f"{_window(c, t)}: {_names([named(p) for p in c.before], t)} \u2192 "
        f"{_names([named(p) for p in c.after], t)}"
        for c in message.changes[:TEXT_LISTED]
    )
    left = len(message.changes) - TEXT_LISTED
    if left > 0:
        plain = t("{changes}; and {count} more", changes=plain, count=left)
    return {
        "text": t("Shift changes for {team}: {changes}", team=message.team, changes=plain),
        "blocks": [section(listed)],
    }
