"""Pure renderers for the messages about shifts: the reminder before one (more in later steps)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.slack.blocks import escape, section
from app.slack.handover_blocks import when

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
