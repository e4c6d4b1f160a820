"""Pure renderers for the messages about shifts: the reminder, the "Got it" button and what follows it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.model.buttons import GOT_IT_ACTION, GotItDone
from app.model.handover import LayerView, PersonView
from app.model.messages import (
    AckMissing,
    AckReminder,
    GotItRefused,
    HandoverPost,
    IncomingDm,
    ShiftChange,
    ShiftDigest,
)
from app.slack import handover_blocks as hand
from app.slack.blocks import context, escape, section
from app.slack.handover_blocks import DASH, PEOPLE_CHARS, bullets, when, who
from app.slack.limits import fit_names

Block = dict[str, Any]

SAME_WEEK = timedelta(days=6)


def moment(at: datetime, zone: str, now: datetime) -> str:
    """``09:00`` today, ``Tue 09:00`` within the week, else ``Mon 6 Apr 09:00`` (``zone``'s wall clock)."""
    local, today = at.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone))
    if local.date() == today.date():
        return f"{local:%H:%M}"
    if abs(at - now) < SAME_WEEK:
        return f"{local:%a %H:%M}"
    return when(at, zone)


def duration(delta: timedelta) -> str:
    """``45 min``, ``1 h``, ``1 h 30 min`` (whole minutes, rounded up: never "0 min" before a start)."""
    minutes = max(1, -(-int(delta.total_seconds()) // 60))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def reminder(team: str, zone: str, start: datetime, end: datetime | None, now: datetime) -> dict[str, Any]:
    """ "Your data shift starts at 09:00 (in 1 h) and runs to Tue 09:00 (Europe/Amsterdam).\""""
    runs = f" and runs to {moment(end, zone, now)}" if end is not None else ""
    line = f"starts at {moment(start, zone, now)} (in {duration(start - now)}){runs} ({escape(zone)})"
    return {
        "text": f"Your {team} shift {line}.",
        "blocks": [section(f"Your *{escape(team)}* shift {line}.")],
    }


def got_it_actions(value: str) -> Block:
    """The "Got it" button, carrying the handover it confirms."""
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Got it"},
        "action_id": GOT_IT_ACTION,
        "value": value,
        "style": "primary",
    }
    return {"type": "actions", "block_id": GOT_IT_ACTION, "elements": [button]}


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def has_it(acked_by: Sequence[str]) -> str:
    """``✓ <@U1> has it`` (``have it`` for several)."""
    names = [f"<@{user}>" for user in acked_by]
    return f"\u2713 {_and(names)} {'has' if len(names) == 1 else 'have'} it"


def layer_lines(layers: Sequence[LayerView]) -> str:
    """``*primary:* <@a> → <@b>`` per layer (``stays on call`` where nobody changes)."""
    lines = []
    for layer in layers:
        name = f"*{escape(layer.name)}:*"
        if {p.pager_id for p in layer.outgoing} == {p.pager_id for p in layer.incoming} and layer.incoming:
            lines.append(f"{name} {hand.people(layer.incoming)} stays on call")
        else:
            lines.append(f"{name} {hand.people(layer.outgoing)} \u2192 {hand.people(layer.incoming)}")
    return "\n".join(lines)


def handover_post(post: HandoverPost) -> dict[str, Any]:
    """The handover post, per layer when the schedule has several; once confirmed, who has it."""
    message = hand.handover_message(post.view)
    blocks = list(message["blocks"])
    if len(post.view.layers) > 1:  # the headline says who hands over on which layer
        headline = blocks[1]["text"]["text"]
        window = headline[headline.index("\n*Shift:*") :] if "\n*Shift:*" in headline else ""
        blocks[1] = section(layer_lines(post.view.layers) + window)
    if not post.acked_by:
        return {**message, "blocks": blocks}
    line = has_it(post.acked_by)
    blocks.insert(2, context(line))  # after the header and the headline with the window
    return {"text": f"{message['text']} ({line})", "blocks": blocks}


def incoming_dm(dm: IncomingDm) -> dict[str, Any]:
    """The incoming person's DM, with the "Got it" button when the handover asks for one."""
    message = hand.incoming_dm(dm.view)
    if dm.got_it is None:
        return message
    return {**message, "blocks": [*message["blocks"], got_it_actions(dm.got_it)]}


def ack_reminder(reminder: AckReminder) -> dict[str, Any]:
    """The reminder to press "Got it"."""
    handover = f"handover of {when(reminder.start, reminder.zone)} ({escape(reminder.zone)})"
    line = f"*{escape(reminder.team)}* {handover}"
    text = f"Please confirm the {line}: press *Got it* once you have it."
    plain = f"Please confirm the {reminder.team} {handover}: press Got it once you have it."
    return {"text": plain, "blocks": [section(text), got_it_actions(reminder.got_it)]}


def _people(persons: Sequence[PersonView]) -> str:
    return _and([who(p) for p in persons]) if persons else "nobody"


def ack_missing(missing: AckMissing) -> dict[str, Any]:
    """The channel hears that the handover is not confirmed; the outgoing people stay reachable."""
    handover = f"handover of {when(missing.start, missing.zone)} ({escape(missing.zone)})"
    waiting = _people(missing.waiting)
    text = f"The *{escape(missing.team)}* {handover} is not confirmed: {waiting} did not press *Got it* yet."
    if missing.outgoing:
        text += f" {_people(missing.outgoing)}, please stay reachable until it is."
    plain = f"The {missing.team} {handover} is not confirmed yet."
    return {"text": plain, "blocks": [section(text)]}


def got_it_done(done: GotItDone) -> dict[str, Any]:
    """The pressed message again, the button replaced by when it was pressed."""
    kept = [b for b in done.pressed if b.get("block_id") != GOT_IT_ACTION]
    line = f"\u2713 You have it (confirmed {moment(done.at, done.zone, done.at)})"
    first = next((b["text"]["text"] for b in kept if b.get("type") == "section" and b.get("text")), "")
    return {"text": f"{first} {line}".strip(), "blocks": [*kept, context(line)]}


def got_it_refused(refused: GotItRefused) -> dict[str, Any]:
    """Why a "Got it" press changed nothing (only the presser sees it)."""
    if refused.why == "again":
        text = "You have already confirmed this handover."
    elif refused.why == "not_yours":
        who = _and([f"<@{user}>" for user in refused.incoming]) if refused.incoming else "the incoming person"
        text = f"Only {who} can confirm this handover; nothing was changed."
    else:
        text = "I no longer know this handover; nothing was changed."
    return {"text": text, "blocks": [section(text)]}


def named(person: PersonView) -> str:
    """Who someone is without pinging them: their Slack name, else the pager's identity (escaped)."""
    return escape(person.name or person.pager_id)


def _window(change: ShiftChange) -> str:
    start, zone = change.start, change.zone
    if change.end is None:
        return f"from {when(start, zone)} on"
    same_day = start.astimezone(ZoneInfo(zone)).date() == change.end.astimezone(ZoneInfo(zone)).date()
    end = f"{change.end.astimezone(ZoneInfo(zone)):%H:%M}" if same_day else when(change.end, zone)
    return f"{when(start, zone)}{DASH}{end}"


def _change_line(change: ShiftChange) -> str:
    """``• Tue 31 Mar 09:00-21:00: bob → <@carol>``: only who takes the shift over is mentioned."""
    staying = {p.pager_id for p in change.before}
    before = fit_names([named(p) for p in change.before], PEOPLE_CHARS) or "nobody"
    after = [named(p) if p.pager_id in staying else who(p) for p in change.after]
    return f"• {_window(change)}: {before} \u2192 {fit_names(after, PEOPLE_CHARS) or 'nobody'}"


def _more_changes(count: int) -> str:
    return f"…and {count} more: /oncall week shows them all"


TEXT_LISTED = 3  # changes spelled out in the notification text; the post lists them all


def digest(message: ShiftDigest) -> dict[str, Any]:
    """All changes to the coming week's shifts, one line each, in one post."""
    head = f"*Shift changes for {escape(message.team)}* ({escape(message.zone)}), the coming week:"
    listed = bullets(head, [_change_line(c) for c in message.changes], _more_changes)
    plain = [
        f"{_window(c)}: {', '.join(named(p) for p in c.before) or 'nobody'} \u2192 "
        f"{', '.join(named(p) for p in c.after) or 'nobody'}"
        for c in message.changes[:TEXT_LISTED]
    ]
    more = len(message.changes) - TEXT_LISTED
    text = (
        f"Shift changes for {message.team}: " + "; ".join(plain) + (f"; and {more} more" if more > 0 else "")
    )
    return {"text": text, "blocks": [section(listed)]}
