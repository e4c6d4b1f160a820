"""The messages about shifts, as values: the handover, its DM and "Got it", reminders, changes, warnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from app.model.handover import HandoverView
from app.model.person import Person


@dataclass(frozen=True, slots=True)
class TeamShift:
    """The shift a message is about: the team, the zone its times are shown in, and when it starts."""

    team: str
    zone: str
    start: datetime


@dataclass(frozen=True, slots=True)
class HandoverPost:
    """The handover in the team channel; ``acked_by``: the incoming people who pressed "Got it"."""

    view: HandoverView
    language: str = "en"
    acked_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IncomingDm:
    """The direct message to a person coming on call; ``got_it``: its "Got it" button's value."""

    view: HandoverView
    language: str = "en"
    got_it: str | None = None


@dataclass(frozen=True, slots=True)
class AckReminder:
    """The DM to an incoming person who has not pressed "Got it" yet, with the button again."""

    shift: TeamShift
    got_it: str
    language: str = "en"  # the reader's


# unknown: the handover is gone or never posted; not_yours: not handed to the presser; again: pressed before.
GotItWhy = Literal["unknown", "not_yours", "again"]


@dataclass(frozen=True, slots=True)
class GotItRefused:
    """The private answer to a "Got it" press that changed nothing; ``incoming``: who may press it."""

    why: GotItWhy
    incoming: tuple[str, ...] = ()
    language: str = "en"  # the presser's


@dataclass(frozen=True, slots=True)
class AckMissing:
    """The channel hears that nobody confirmed the handover; the outgoing people stay reachable."""

    shift: TeamShift
    waiting: tuple[Person, ...]
    outgoing: tuple[Person, ...]
    language: str = "en"  # the team's


@dataclass(frozen=True, slots=True)
class IdentityWarning:
    """The day-ahead warning: incoming people Slack cannot reach, and how to fix them."""

    shift: TeamShift
    problems: tuple[Person, ...]
    language: str = "en"


@dataclass(frozen=True, slots=True)
class ShiftChange:
    """One changed shift: who is on call for it now, and who was."""

    shift: TeamShift
    end: datetime | None
    before: tuple[Person, ...]
    after: tuple[Person, ...]
    language: str = "en"


@dataclass(frozen=True, slots=True)
class ShiftDigest:
    """Every change to the coming week's shifts, in one post."""

    team: str
    zone: str
    changes: tuple[ShiftChange, ...]
    language: str = "en"  # the team's


@dataclass(frozen=True, slots=True)
class ShiftReminder:
    """The direct message to a person whose shift begins soon: ``end`` None when not known yet."""

    shift: TeamShift
    end: datetime | None
    now: datetime
    language: str = "en"  # the reader's
