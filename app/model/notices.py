"""The notices the bot posts in a team's channel, as values: the pager's outages, the usergroup's problems."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PagerUnreachable:
    """The pager stopped answering: the data is stale since ``since`` (the group is left alone)."""

    team: str
    usergroup: str
    error: str
    since: datetime
    data_from: datetime | None
    zone: str
    language: str = "en"


@dataclass(frozen=True, slots=True)
class PagerRecovered:
    """The pager answers again after an announced outage."""

    team: str
    since: datetime
    now: datetime
    zone: str
    language: str = "en"


@dataclass(frozen=True, slots=True)
class NobodyOnCall:
    """Nobody on call can be put in the user group (``unmapped``: the pager's people Slack lacks)."""

    team: str
    usergroup: str
    unmapped: tuple[str, ...]
    language: str = "en"


@dataclass(frozen=True, slots=True)
class UnmappedPerson:
    """A person on call has no usable Slack account, so is not in the group."""

    team: str
    pager_id: str
    problem: str
    language: str = "en"


@dataclass(frozen=True, slots=True)
class SyncFailed:
    """Slack refused the user group update; ``sentence`` says why."""

    team: str
    usergroup: str
    sentence: str
    language: str = "en"


@dataclass(frozen=True, slots=True)
class NeedsAdmin:
    """Something only an admin can fix (a missing group, a lost channel, a rejected token)."""

    team: str
    sentence: str
    language: str = "en"
