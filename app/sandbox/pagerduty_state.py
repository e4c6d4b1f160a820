"""The PagerDuty sandbox's state: users, schedules (v2 layers or v3 rotations) and recorded requests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.sandbox.opsgenie_schedule import Override, Rotation
from app.sandbox.pagerduty_schedule import Entry, final_v2, final_v3

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def pd_id(seed: str, length: int = 7) -> str:
    """A stable PagerDuty-style id (``P`` + uppercase letters and digits) derived from ``seed``."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "P" + "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[: length - 1])


@dataclass(frozen=True)
class PdRequest:
    """One request received: ``host`` is "rest" or "events"; ``query`` keeps every value of each key."""

    host: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float
    status: int


@dataclass
class PdUser:
    """A PagerDuty user: the id on the wire, the email the bot needs."""

    id: str
    name: str
    email: str
    time_zone: str = "Europe/Amsterdam"


@dataclass
class PdSchedule:
    """One schedule; ``version`` 3 means upgraded to shift-based (served by ``/v3/schedules``)."""

    id: str
    name: str
    time_zone: str
    version: int
    layers: list[Rotation] = field(default_factory=list)  # participants are user ids
    overrides: list[Override] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)  # escalation policy ids (each at level 1)
    denied: bool = False

    @property
    def tz(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.time_zone)

    def entries(self, start: datetime, end: datetime) -> list[Entry]:
        """The final schedule in ``[start, end)`` in this schedule's shape."""
        final = final_v3 if self.version == 3 else final_v2
        return final(self.layers, self.overrides, self.tz, start, end)
