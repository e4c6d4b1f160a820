"""What the handover post shows: plain, frozen values built by the handover service, rendered by app/slack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.model.person import Person


@dataclass(frozen=True, slots=True)
class EscalationView:
    """One escalation of the outgoing shift."""

    created_at: datetime
    channel: str
    thread_ts: str
    user_id: str
    text: str
    open: bool
    permalink: str | None = None


@dataclass(frozen=True, slots=True)
class UsergroupView:
    """The latest usergroup sync of a team (``result`` None when it never ran)."""

    handle: str
    result: str | None = None
    at: datetime | None = None
    members: tuple[str, ...] = ()
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class LayerView:
    """Who hands over to whom on one layer of the schedule (a rotation: primary, secondary, ...)."""

    name: str
    outgoing: tuple[Person, ...]
    incoming: tuple[Person, ...]


@dataclass(frozen=True, slots=True)
class HandoverView:
    """Everything the handover post shows; built by the handover service from the cache."""

    team: str
    zone: str
    start: datetime
    end: datetime | None  # None: the shift lasts beyond the pager's timeline as read so far
    outgoing: tuple[Person, ...]
    incoming: tuple[Person, ...]
    usergroup: UsergroupView
    escalations: tuple[EscalationView, ...] = ()
    pager_change: datetime | None = None
    late: bool = False
    stale: bool = False
    last_success_at: datetime | None = None
    last_error: str | None = None
    layers: tuple[LayerView, ...] = ()  # per layer, when the schedule has several
