"""Domain values shared by every layer: no Slack, pager or ORM types in here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal


def require_aware(value: datetime, what: str) -> datetime:
    """Return ``value`` unchanged, or raise when it carries no time zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value!r}")
    return value


_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{6,}$", re.IGNORECASE)


def slack_id_identity(pager_id: str) -> str | None:
    """The Slack user id that ``pager_id`` is (a rotation may name people by id; ours are lowercased)."""
    return pager_id.upper() if _SLACK_ID.match(pager_id) else None


def known_slack_id(config_people: dict[str, str], pager_id: str) -> str | None:
    """The Slack id an admin's [people] map or the identity itself gives, before asking Slack."""
    return config_people.get(pager_id) or slack_id_identity(pager_id)


@dataclass(frozen=True, slots=True)
class Shift:
    """One person's stretch on call: ``person`` is the pager's identity (an email for Opsgenie)."""

    person: str
    start: datetime
    end: datetime
    # The layer it belongs to (an Opsgenie or JSM rotation, a built-in rotation's layer): "" when the
    # schedule has one layer only, or the pager does not say. Not part of a shift's identity: the same
    # person at the same times is the same shift, whichever layer the pager files it under.
    layer: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        require_aware(self.start, "Shift.start")
        require_aware(self.end, "Shift.end")
        if self.end <= self.start:
            raise ValueError(f"shift of {self.person} ends before it starts")

    def covers(self, at: datetime) -> bool:
        """True when ``at`` falls inside this shift (start inclusive, end exclusive)."""
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class OnCall:
    """Who the pager says is on call for a schedule at one instant."""

    schedule: str
    at: datetime
    people: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertRequest:
    """What the escalation asks the pager to raise."""

    message: str
    description: str
    alias: str
    schedule: str
    priority: str = "P3"
    tags: tuple[str, ...] = ()
    details: dict[str, str] = field(default_factory=dict)
    source: str = "oncall-bot"
    user: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """The pager's answer about an alert request: ``done`` False while still being processed."""

    done: bool
    success: bool = False
    alert_id: str | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class AlertRef:
    """An alert to act on: the escalation's alias, and the pager's own id once known."""

    alias: str
    alert_id: str | None = None


@dataclass(frozen=True, slots=True)
class AlertState:
    """An alert as the pager has it now: open, acknowledged (and still open) or closed.

    ``by`` is who acknowledged or closed it, as the pager names them, when it says; ``url`` its web page.
    """

    alert_id: str
    status: str  # "open", "acknowledged" or "closed"
    by: str | None = None
    url: str | None = None

    @property
    def closed(self) -> bool:
        """True once the alert was closed (resolved) at the pager."""
        return self.status == "closed"


@dataclass(frozen=True, slots=True)
class RotationLayer:
    """One rotation layer: ``people`` take turns of ``shift`` from ``start`` (naive, team-local time)."""

    people: tuple[str, ...]
    shift: timedelta
    start: datetime


@dataclass(frozen=True, slots=True)
class RotationOverride:
    """``person`` is on call from ``start`` to ``end`` (naive, team-local) instead of the layers."""

    person: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class RotationSpec:
    """A team's built-in rotation: its layers (all on call at once) and the overrides that beat them."""

    layers: tuple[RotationLayer, ...]
    overrides: tuple[RotationOverride, ...] = ()


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class HandoverTime:
    """A fixed wall-clock moment in a team's zone: weekly (Monday 09:00) or, ``weekday`` None, daily."""

    weekday: int | None  # 0 = Monday, as datetime.weekday(); None: every day
    hour: int
    minute: int

    @property
    def period(self) -> timedelta:
        """How far apart two handovers are on the wall clock: a week, or a day."""
        return timedelta(days=1 if self.weekday is None else 7)

    def __str__(self) -> str:
        day = "daily" if self.weekday is None else WEEKDAYS[self.weekday]
        return f"{day} {self.hour:02d}:{self.minute:02d}"


# "shift": a handover at each change of the pager's timeline; "off": no handover posts at all.
HandoverMode = Literal["shift", "off"]
DEFAULT_HANDOVER_MIN = timedelta(hours=2)
DEFAULT_REMIND_BEFORE = timedelta(hours=1)
DEFAULT_ACK_WITHIN = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Team:
    """One team from the config file: its schedule, usergroup, channel and rituals."""

    name: str
    schedule: str
    usergroup: str
    channel: str
    handover: HandoverTime | HandoverMode
    timezone: str
    escalate: str = "tag"  # "tag" only mentions the on-call people; "page" also raises a pager alert
    priority: str = "P3"
    provider: str = "opsgenie"  # the registry kind that answers for this team (app.providers.registry)
    api_key_env: str | None = None  # the env var holding this team's own pager key, when not the default
    routing_key_env: str | None = None  # PagerDuty: the env var holding this team's Events API routing key
    rotation: RotationSpec | None = None  # the built-in rotation (provider "rotation")
    guests_may_page: bool = False  # guests (and only then) may page and press Acknowledge/Resolve
    language: str = "en"  # channel posts' language ("en" or "ja", app.i18n); private answers: the reader's
    handover_min: timedelta = DEFAULT_HANDOVER_MIN  # shorter on-call stretches get no handover of their own
    remind_before: timedelta | None = DEFAULT_REMIND_BEFORE  # the DM before a shift; None: no reminders
    ack_within: timedelta | None = DEFAULT_ACK_WITHIN  # "Got it" expected within; None: not followed up

    @property
    def fixed_handover(self) -> HandoverTime | None:
        """The weekly or daily handover time, or None (per shift, or off)."""
        return self.handover if isinstance(self.handover, HandoverTime) else None

    @property
    def per_shift(self) -> bool:
        """True when the team gets a handover at each shift change of the timeline."""
        return self.handover == "shift"

    @property
    def pages(self) -> bool:
        """True when escalations in this team also raise a pager alert."""
        return self.escalate == "page"
