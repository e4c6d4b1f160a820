"""What /oncall and the App Home show: plain, frozen values built by the services, rendered by app/slack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain import Team
from app.model.person import Person

__all__ = ["Person"]  # the one identity type (app.model.person), re-exported beside its views


@dataclass(frozen=True, slots=True)
class Freshness:
    """When the pager last answered for this data; ``as_of`` None means no data yet."""

    as_of: datetime | None
    failing_since: datetime | None = None
    error: str | None = None
    stale: bool = False


@dataclass(frozen=True, slots=True)
class ShiftView:
    """One person's stretch on call for a team, adjacent pieces merged."""

    team: str
    person: Person
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class TeamNow:
    """Who is on call for a team now (None: no data yet), until when, and how fresh that is."""

    team: Team
    people: tuple[Person, ...] | None
    freshness: Freshness
    until: datetime | None = None
    # Who is on which layer (primary, secondary, ...) per the cached timeline; empty for a single layer.
    layers: tuple[tuple[str, tuple[Person, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class TeamNext:
    """The next handover of a team: when, and to whom (``at`` None: none in the cached timeline)."""

    team: Team
    current: tuple[Person, ...] | None
    at: datetime | None
    incoming: tuple[Person, ...]
    freshness: Freshness
    known_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class TeamWeek:
    """A team's shifts overlapping the next seven days."""

    team: Team
    shifts: tuple[ShiftView, ...]
    freshness: Freshness
    known_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class MyShifts:
    """The asking user's current and next shifts across all teams."""

    user_id: str
    identities: tuple[str, ...]
    current: tuple[ShiftView, ...]
    upcoming: tuple[ShiftView, ...]
    freshness: Freshness  # of the teams the user appears in (else of every team with data)
    known_until: datetime | None = None  # where the shortest cached timeline ends
    unknown_teams: tuple[str, ...] = ()  # teams with no schedule yet: the user's shifts there are unknown


@dataclass(frozen=True, slots=True)
class TeamHome:
    """One team on the App Home: on call now, the last usergroup sync and unmapped people."""

    now: TeamNow
    sync_result: str | None
    sync_at: datetime | None
    sync_detail: str | None
    unmapped: tuple[Person, ...]


@dataclass(frozen=True, slots=True)
class UserZone:
    """The zone an answer is rendered in: the user's own when ``known``, else the team's.

    ``locale`` is the user's Slack locale (None while unknown): it chooses a private answer's language.
    """

    name: str
    known: bool
    needs_fetch: bool = False
    locale: str | None = None
