"""Pure renderers for the handover post, the incoming person's DM and the pre-handover notices."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.model.handover import EscalationView, HandoverView, PersonView, UsergroupView
from app.slack.blocks import Blocks, context, escape, section
from app.slack.limits import TEXT_CHARS, fit_names, header, truncate

OPEN_LISTED = 10  # open escalations listed one by one; the rest are counted
QUOTE_CHARS = 80
PEOPLE_CHARS = 1_000  # one list of people or members; the rest are counted
DETAIL_CHARS = 500  # an error detail from Slack or the pager
DASH = "\u2013"  # an en dash between the two ends of a time window

_REASONS = {
    "not_found": "no Slack user has this email",
    "deleted": "the Slack account is deactivated",
    "bot": "the Slack account is a bot",
    "guest": "the Slack account is a guest, and guests cannot be in a user group",
    "unknown": "not looked up in Slack yet",
    "no_email": "the pager shows no email for this account (hidden in its Atlassian profile)",
}


def when(moment: datetime, zone: str) -> str:
    """``Mon 6 Apr 09:00`` in ``zone``."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def who(person: PersonView) -> str:
    """A mention when the person maps to an active Slack member, else the escaped pager identity."""
    return f"<@{person.slack_id}>" if person.mapped else escape(person.pager_id)


def people(persons: Sequence[PersonView]) -> str:
    """Comma-separated mentions, or "nobody"."""
    return fit_names([who(p) for p in persons], PEOPLE_CHARS) or "nobody"


def bullets(head: str, lines: Sequence[str], more: Callable[[int], str], most: int | None = None) -> str:
    """``head`` and as many whole lines as fit one section (at most ``most``), then ``more(left out)``."""
    return fit_names(
        list(lines), TEXT_CHARS, prefix=f"{head}\n", sep="\n", pointer_sep="\n", more=more, max_items=most
    )


def _more_open(count: int) -> str:
    return f"…and {count} more open"


def _more_items(count: int) -> str:
    return f"…and {count} more: the bot's log names them all"


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    short = flat[:QUOTE_CHARS] + ("…" if len(flat) > QUOTE_CHARS else "")
    return escape(short)


def _escalation_line(item: EscalationView, zone: str) -> str:
    stamp = when(item.created_at, zone)
    if item.permalink:
        where = f"<{item.permalink}|{stamp}>"
    else:
        where = f"{stamp} in <#{item.channel}> (thread {item.thread_ts})"
    return f"• {where} from <@{item.user_id}>: “{_quote(item.text)}”"


def escalations_text(items: Sequence[EscalationView], zone: str) -> str:
    """The escalations section: count, then each still-open one with its thread."""
    if not items:
        return "*Escalations last shift:* none"
    still_open = [i for i in items if i.open]
    head = f"*Escalations last shift:* {len(items)} ({len(still_open)} still open)"
    return _open_list(head, still_open, zone) if still_open else head


def _open_list(head: str, still_open: Sequence[EscalationView], zone: str) -> str:
    """Up to OPEN_LISTED open escalations, whole lines only, then how many more are open."""
    return bullets(head, [_escalation_line(i, zone) for i in still_open], _more_open, OPEN_LISTED)


def _group_name(handle: str) -> str:
    # An S… id rendered as <!subteam^…> would ping the whole group; show it as plain text instead.
    return escape(handle) if handle.startswith("S") and handle.isupper() else f"@{escape(handle)}"


def usergroup_text(group: UsergroupView, zone: str, incoming: Sequence[PersonView] = ()) -> str:
    """The usergroup's state after its latest sync, and whether it still has to follow the new shift."""
    name = _group_name(group.handle)
    if group.result is None or group.at is None:
        return f"*Usergroup:* {name} has not been synced yet"
    if group.result == "failed":
        detail = truncate(escape(group.detail or "no detail"), DETAIL_CHARS)
        return f"*Usergroup:* {name}: the last sync failed ({when(group.at, zone)}): {detail}"
    members = fit_names([f"<@{m}>" for m in group.members], PEOPLE_CHARS) or "nobody"
    text = f"*Usergroup:* {name} → {members} (checked {when(group.at, zone)})"
    wanted = {p.slack_id for p in incoming}
    if incoming and all(p.mapped for p in incoming) and wanted != set(group.members):
        text += "; it moves to the new shift at the next refresh"
    return text


def reason(person: PersonView) -> str:
    """Why a person cannot be mentioned or put in the usergroup."""
    return _REASONS.get(person.status, f"Slack status {escape(person.status)}")


def attention_items(view: HandoverView) -> list[str]:
    """What needs a human: unmapped people, nobody incoming, stale pager data."""
    items: list[str] = []
    seen: set[str] = set()
    for person in (*view.incoming, *view.outgoing):
        if person.mapped or person.pager_id in seen:
            continue
        seen.add(person.pager_id)
        fix = (
            _fix(person)
            if person.status == "no_email"
            else "map it under `[people]` in the bot's config or fix the email in the pager"
        )
        items.append(f"{escape(person.pager_id)}: {reason(person)}; {fix}")
    if not view.incoming:
        items.append("Nobody is on call in the new shift: check the schedule in the pager")
    if view.stale:
        read = (
            f"The pager was last read {when(view.last_success_at, view.zone)}"
            if view.last_success_at
            else "The pager has not been read yet"
        )
        error = f" ({truncate(escape(view.last_error), DETAIL_CHARS)})" if view.last_error else ""
        items.append(f"{read}{error}: who is on call may be out of date")
    return items


def _headline(view: HandoverView) -> str:
    if {p.pager_id for p in view.outgoing} == {p.pager_id for p in view.incoming} and view.incoming:
        return f"{people(view.incoming)} stays on call"
    return f"{people(view.outgoing)} → {people(view.incoming)}"


def _window(view: HandoverView) -> str:
    return f"{when(view.start, view.zone)} {DASH} {when(view.end, view.zone)} ({escape(view.zone)})"


def handover_message(view: HandoverView) -> dict[str, Any]:
    """The handover post: text fallback and blocks."""
    blocks: Blocks = [
        header(f"On-call handover: {view.team}"),
        section(f"{_headline(view)}\n*Shift:* {_window(view)}"),
    ]
    if view.pager_change is not None:
        blocks.append(
            context(
                f"The pager changes shift at {when(view.pager_change, view.zone)}, "
                f"not at the handover time {when(view.start, view.zone)}."
            )
        )
    if view.late:
        blocks.append(context(f"Posted late: I was not running at {when(view.start, view.zone)}."))
    blocks.append(section(escalations_text(view.escalations, view.zone)))
    blocks.append(section(usergroup_text(view.usergroup, view.zone, view.incoming)))
    items = attention_items(view)
    if items:
        blocks.append(section(bullets("*Needs attention*", [f"• {item}" for item in items], _more_items)))
    text = f"On-call handover for {view.team}: {_headline(view)}, {_window(view)}"
    return {"text": text, "blocks": blocks}


def incoming_dm(view: HandoverView) -> dict[str, Any]:
    """The DM to an incoming person: their window and what is still open."""
    span = f"from {when(view.start, view.zone)} to {when(view.end, view.zone)} ({escape(view.zone)})"
    head = f"You are on call for *{escape(view.team)}* {span}."
    still_open = [i for i in view.escalations if i.open]
    blocks: Blocks = [section(head)]
    if still_open:
        blocks.append(section(_open_list("*Still open from the last shift:*", still_open, view.zone)))
    else:
        blocks.append(section("Nothing is open from the last shift."))
    plain = f"You are on call for {view.team} {span}. Still open: {len(still_open)}."
    return {"text": plain, "blocks": blocks}


def _fix(person: PersonView) -> str:
    if person.status == "no_email":
        line = f'`"{escape(person.pager_id)}" = "U…"`'
        return f"add {line} (their Slack member ID) under `[people]` in the bot's config"
    if person.status in ("deleted", "bot", "guest"):
        return (
            "put an active member's Slack ID under `[people]` in the bot's config, "
            "or change the shift in the pager"
        )
    return (
        f'add `"{escape(person.pager_id)}" = "U…"` under `[people]` in the bot\'s config, '
        "or change the email in the pager to the one Slack knows"
    )


def identity_notice(
    team: str, zone: str, shift_start: datetime, problems: Sequence[PersonView]
) -> dict[str, Any]:
    """The day-ahead warning: whom to fix, and how, before the handover."""
    lines = [f"• {escape(p.pager_id)}: {reason(p)}. Fix: {_fix(p)}." for p in problems]
    head = (
        f"Heads-up for the *{escape(team)}* handover on {when(shift_start, zone)} ({escape(zone)}): "
        "I cannot reach the incoming on-call person in Slack."
    )
    text = f"Heads-up: the incoming on-call person of {team} cannot be reached in Slack"
    listed = fit_names(lines, TEXT_CHARS, sep="\n", pointer_sep="\n", more=_more_items)
    return {"text": text, "blocks": [section(head), section(listed)] if listed else [section(head)]}


def shift_change_notice(
    team: str,
    zone: str,
    start: datetime,
    end: datetime | None,
    before: Sequence[PersonView],
    after: Sequence[PersonView],
) -> dict[str, Any]:
    """One changed shift, e.g. "Tue 7 Apr 09:00-Wed 8 Apr 09:00 is now Bob, was Alice" (an en dash)."""
    window = f"{when(start, zone)}{DASH}{when(end, zone)}" if end else f"From {when(start, zone)} on, it"
    line = f"{window} is now {people(after)}, was {people(before)}"
    head = f"*Shift change for {escape(team)}* ({escape(zone)}): {line}."
    return {"text": f"Shift change for {team}: {line}.", "blocks": [section(head)]}


def message_text(message: dict[str, Any]) -> str:
    """Flatten a rendered message's blocks into plain lines (for the CLI and the demo)."""
    lines: list[str] = []
    for block in message.get("blocks") or []:
        if block.get("text"):
            lines.append(block["text"]["text"])
        lines += [element["text"] for element in block.get("elements") or [] if element.get("text")]
    return "\n".join(lines) if lines else str(message.get("text", ""))
