"""Rotation maths for the Opsgenie sandbox: who is on call when, counted on the schedule's wall clock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# DST moves a wall-clock boundary by at most this much against plain UTC arithmetic.
_DST_SLACK = timedelta(hours=2)
# How far ahead next-on-calls looks for a change; widened step by step so the usual case stays cheap.
_NEXT_HORIZONS = (timedelta(days=8), timedelta(days=64), timedelta(days=400))
_TICK = timedelta(microseconds=1)


@dataclass
class Rotation:
    """Participants take turns of ``length`` from ``start``, on the schedule's wall clock like Opsgenie."""

    name: str
    participants: list[str]
    start: datetime
    length: timedelta
    order: float = 1.0

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError(f"rotation {self.name!r}: start must be timezone-aware")
        if self.length <= timedelta(0):
            raise ValueError(f"rotation {self.name!r}: length must be positive")


@dataclass(frozen=True)
class Override:
    """During ``[start, end)`` ``user`` replaces ``rotation``'s participant (every rotation when None)."""

    user: str
    start: datetime
    end: datetime
    rotation: str | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("override start and end must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("override ends before it starts")

    def applies_to(self, rotation: Rotation) -> bool:
        """True when this override replaces people in ``rotation``."""
        return self.rotation is None or self.rotation == rotation.name


@dataclass(frozen=True)
class Period:
    """A stretch of one rotation with one recipient, as in Opsgenie's timeline."""

    start: datetime
    end: datetime
    user: str
    type: str = "default"


def _wall_clock(start: datetime, offset: timedelta, tz: ZoneInfo) -> datetime:
    """``start + offset`` on the wall clock of ``tz``, as UTC: a 09:00 handoff stays at 09:00 over DST."""
    local = start.astimezone(tz).replace(tzinfo=None) + offset
    return local.replace(tzinfo=tz).astimezone(UTC)


def default_periods(rotation: Rotation, tz: ZoneInfo, start: datetime, end: datetime) -> list[Period]:
    """The rotation's turns overlapping ``[start, end)``, clipped to it; nobody before the rotation starts."""
    people = rotation.participants
    if not people or end <= rotation.start:
        return []
    # Start a little early: DST can pull a wall-clock turn across the UTC estimate.
    k = max(0, (start - rotation.start - _DST_SLACK) // rotation.length)
    periods: list[Period] = []
    while True:
        turn_start = _wall_clock(rotation.start, k * rotation.length, tz)
        if turn_start >= end:
            return periods
        turn_end = _wall_clock(rotation.start, (k + 1) * rotation.length, tz)
        # A turn that starts in a spring-forward gap can collapse to nothing.
        if turn_end > start and turn_end > turn_start:
            periods.append(Period(max(turn_start, start), min(turn_end, end), people[k % len(people)]))
        k += 1


def _paint(periods: list[Period], override: Override, start: datetime, end: datetime) -> list[Period]:
    """Cut ``override`` into ``periods``: the parts it covers go to the override's user."""
    lo, hi = max(override.start, start), min(override.end, end)
    if lo >= hi:
        return periods
    kept: list[Period] = []
    for period in periods:
        if period.end <= lo or period.start >= hi:
            kept.append(period)
            continue
        if period.start < lo:
            kept.append(replace(period, end=lo))
        if period.end > hi:
            kept.append(replace(period, start=hi))
    kept.append(Period(lo, hi, override.user, "override"))
    return sorted(kept, key=lambda p: p.start)


def rotation_periods(
    rotation: Rotation, overrides: Iterable[Override], tz: ZoneInfo, start: datetime, end: datetime
) -> list[Period]:
    """The final periods of one rotation in ``[start, end)``: turns, then overrides in the order added."""
    periods = default_periods(rotation, tz, start, end)
    for override in overrides:
        if override.applies_to(rotation):
            periods = _paint(periods, override, start, end)
    return periods


def ordered(rotations: Iterable[Rotation]) -> list[Rotation]:
    """Rotations by ``order`` (stable), the way Opsgenie lists them."""
    return sorted(rotations, key=lambda r: r.order)


def on_call_at(
    rotations: Sequence[Rotation], overrides: Sequence[Override], tz: ZoneInfo, at: datetime
) -> list[str]:
    """Everyone on call at ``at`` over all rotations, deduplicated, in rotation order."""
    people: list[str] = []
    for rotation in ordered(rotations):
        for period in rotation_periods(rotation, overrides, tz, at, at + _TICK):
            if period.user not in people:
                people.append(period.user)
    return people


def _edges(
    rotations: Sequence[Rotation],
    overrides: Sequence[Override],
    tz: ZoneInfo,
    after: datetime,
    until: datetime,
) -> list[datetime]:
    """Every instant in ``(after, until)`` where some rotation's recipient may change."""
    edges: set[datetime] = set()
    for rotation in rotations:
        for period in rotation_periods(rotation, overrides, tz, after, until):
            edges.update((period.start, period.end))
    return sorted(edge for edge in edges if after < edge < until)


def exact_next(
    rotations: Sequence[Rotation], overrides: Sequence[Override], tz: ZoneInfo, after: datetime
) -> list[str]:
    """The people on call at the first moment after ``after`` when the set of people changes."""
    current = set(on_call_at(rotations, overrides, tz, after))
    for horizon in _NEXT_HORIZONS:
        for edge in _edges(rotations, overrides, tz, after, after + horizon):
            people = on_call_at(rotations, overrides, tz, edge)
            if set(people) != current:
                return people
    return []


def next_per_rotation(
    rotations: Sequence[Rotation], overrides: Sequence[Override], tz: ZoneInfo, after: datetime
) -> list[str]:
    """For each rotation, the next person after the current one, deduplicated, in rotation order."""
    people: list[str] = []
    for rotation in ordered(rotations):
        current = {p.user for p in rotation_periods(rotation, overrides, tz, after, after + _TICK)}
        for horizon in _NEXT_HORIZONS:
            periods = rotation_periods(rotation, overrides, tz, after, after + horizon)
            upcoming = [p.user for p in periods if p.start > after and p.user not in current]
            if upcoming:
                if upcoming[0] not in people:
                    people.append(upcoming[0])
                break
    return people


def add_months(value: datetime, months: int) -> datetime:
    """``value`` moved by whole calendar months, the day clamped to the target month's length."""
    index = value.month - 1 + months
    year, month = value.year + index // 12, index % 12 + 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return value.replace(year=year, month=month, day=min(value.day, days))


def window_end(start: datetime, interval: int, unit: str, tz: ZoneInfo) -> datetime:
    """The end of a timeline window of ``interval`` ``unit`` from ``start``, on the schedule's wall clock."""
    if unit == "months":
        local = add_months(start.astimezone(tz).replace(tzinfo=None), interval)
        return local.replace(tzinfo=tz).astimezone(UTC)
    step = timedelta(days=1) if unit == "days" else timedelta(weeks=1)
    return _wall_clock(start, step * interval, tz)


def format_date(value: datetime) -> str:
    """Opsgenie's wire format for an instant: ``2024-01-01T08:00:00Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(text: str) -> datetime:
    """Parse Opsgenie's ``yyyy-MM-dd'T'HH:mm:ssZ`` (``Z``, ``+01:00``, ``+0100``); ValueError otherwise."""
    # An unescaped '+' reaches us as a space: that is the client's bug, so refuse it loudly.
    if " " in text or "T" not in text:
        raise ValueError(text)
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(text)
    return value.astimezone(UTC)
