"""What the shift job will do next, per team: for ``oncall-bot handover --dry-run``. Reads only.

The next handover, the reminders still to send and the handover waiting for its "Got it", each with
the moment it is due, in the team's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from app.domain import Team
from app.runtime import Runtime
from app.services import handover_plan
from app.services.ack_followups import PendingAck, pending_ack
from app.services.handover_plan import Planned
from app.services.reminders import Reminder, reminders
from app.store.db import reading

LISTED = 10  # reminders listed; the rest are counted


@dataclass(frozen=True, slots=True)
class Outlook:
    """The team's next handover, its reminders still to send, and its unconfirmed handover."""

    team: Team
    next_handover: Planned | None
    reminders: tuple[Reminder, ...]
    pending: PendingAck | None


def outlook(runtime: Runtime, team: Team, now: datetime) -> Outlook:
    """What is coming for ``team`` after ``now``, from the cache alone."""
    with reading(runtime.sessions) as session:
        coming = handover_plan.next_after(session, team, now)
    unsent = tuple(r for r in reminders(runtime, team, now) if not r.sent)
    return Outlook(team, coming, unsent, pending_ack(runtime, team, now))


def _at(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def _people(ids: tuple[str, ...]) -> str:
    return ", ".join(ids) or "nobody"


def describe(view: Outlook, now: datetime) -> str:
    """The outlook as plain lines for the CLI (times in the team's zone)."""
    zone = view.team.timezone
    lines = []
    planned = view.next_handover
    if view.team.handover == "off":
        lines.append("next handover: none (handover = off)")
    elif planned is None:
        lines.append("next handover: none in the cached timeline")
    else:
        until = f" until {_at(planned.end, zone)}" if planned.end is not None else ""
        who = f"{_people(planned.outgoing)} → {_people(planned.incoming)}"
        lines.append(f"next handover: {_at(planned.start, zone)} ({zone}): {who}{until}")
    if view.team.remind_before is None:
        lines.append("reminders: off")
    elif not view.reminders:
        lines.append("reminders: none to send")
    else:
        lines.append("reminders:")
        for reminder in view.reminders[:LISTED]:
            due = "due now" if reminder.at <= now else _at(reminder.at, zone)
            to = reminder.to or f"{reminder.person.pager_id} (not in Slack: not sent)"
            lines.append(f"  {due}: {to} for the shift at {_at(reminder.start, zone)}")
        if len(view.reminders) > LISTED:
            lines.append(f"  …and {len(view.reminders) - LISTED} more")
    lines += _pending_lines(view, now)
    return "\n".join(lines)


def _pending_lines(view: Outlook, now: datetime) -> list[str]:
    zone, pending = view.team.timezone, view.pending
    if view.team.ack_within is None:
        return ["pending acknowledgements: not followed up (ack_within = off)"]
    if pending is None:
        return ["pending acknowledgements: none"]
    lines = [f"pending acknowledgements: the handover of {_at(pending.start, zone)}"]
    for person in pending.waiting:
        sent = person.reminded_at
        step = f"reminded {_at(sent, zone)}" if sent else f"reminder {_at(person.remind_at, zone)}"
        lines.append(f"  {person.user_id}: no Got it yet; {step}")
    channel = "told" if pending.channel_said else _at(pending.channel_at, zone)
    lines.append(f"  the channel hears it: {channel}")
    return lines
