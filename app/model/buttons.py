"""The bot's buttons as values: which buttons a message offers, and what a press leaves behind.

The action ids are the contract between the buttons app/slack draws and the presses the services read:
every id is namespaced ``oncall.<feature>.*`` (the one dispatcher routes on the feature). An escalation
button carries the escalation's id as its value; the handover's "Got it" carries the team and the
shift start (``got_it_value``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

PAGE_ACTION = "oncall.escalation.page"
PRIORITY_ACTION = "oncall.escalation.priority"
ACK_ACTION = "oncall.escalation.ack"
RESOLVE_ACTION = "oncall.escalation.resolve"
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
GOT_IT_ACTION = "oncall.shift.got_it"

# page: Page (with a priority select) and Resolve; resolve: Resolve only; alert: Acknowledge and Resolve.
Offer = Literal["page", "resolve", "alert"]
# What a press did, as the pressed message then says it.
Done = Literal["paged", "acked", "resolved"]


@dataclass(frozen=True, slots=True)
class EscalationButtons:
    """The buttons of one escalation; ``priority``: the select's initial choice (the Page offer only)."""

    escalation_id: int
    offer: Offer
    priority: str = "P3"


@dataclass(frozen=True, slots=True)
class PressDone:
    """The pressed message again, its buttons replaced by who did what (and ``keep``, the buttons left).

    ``pressed``: the message's blocks as Slack sent them with the press; ``pager``: where the press was
    also told (None when no pager was), and for a page the pager it goes through.
    """

    pressed: tuple[dict[str, Any], ...]
    done: Done
    user: str
    pager: str | None
    priority: str = ""
    keep: EscalationButtons | None = None
    language: str = "en"  # the team's: the pressed message is in its channel


def got_it_value(team: str, shift_start: datetime) -> str:
    """The value of a handover's "Got it" button: ``team|shift start`` (ISO, UTC)."""
    return f"{team}|{shift_start.astimezone(UTC).isoformat()}"


def parse_got_it(value: str) -> tuple[str, datetime] | None:
    """(team, shift start) from a "Got it" value; None when it is not one."""
    team, _, when = value.partition("|")
    try:
        start = datetime.fromisoformat(when)
    except ValueError:
        return None
    if not team or start.tzinfo is None:
        return None
    return team, start.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class GotItDone:
    """A pressed "Got it" message again (``pressed``: its blocks), the button replaced by when it was."""

    pressed: tuple[dict[str, Any], ...]
    at: datetime
    zone: str
    language: str = "en"  # the reader's: the pressed message is their DM
