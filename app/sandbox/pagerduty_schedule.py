"""Final-schedule maths for the PagerDuty sandbox: v2 layers (one person at a time) and v3 rotations.

Layer turns are counted on the schedule's wall clock with the Opsgenie sandbox's rotation maths; what
differs is how PagerDuty stacks them. A v2 schedule's final layer shows exactly one person at any moment:
the override added last wins, otherwise the highest layer with someone on (``Rotation.order``, higher
wins, like layers further down PagerDuty's editor). A v3 (shift-based) schedule keeps every rotation's
shift, so people may overlap, and windows nobody covers are listed as ``empty_member`` entries.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from app.sandbox.opsgenie_schedule import Override, Rotation, default_periods, ordered, rotation_periods


@dataclass(frozen=True)
class Entry:
    """One rendered stretch: ``user`` is a sandbox user id, or None for a v3 empty window."""

    start: datetime
    end: datetime
    user: str | None
    rotation: str | None = None  # the v3 rotation the shift came from
    override: bool = False


def _edges(
    layers: Sequence[Rotation], overrides: Sequence[Override], tz: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    edges = {start, end}
    for layer in layers:
        for period in default_periods(layer, tz, start, end):
            edges.update((period.start, period.end))
    for override in overrides:
        edges.update(edge for edge in (override.start, override.end) if start < edge < end)
    return sorted(edges)


def _covering(layers: Sequence[Rotation], tz: ZoneInfo, at: datetime, end: datetime) -> str | None:
    """The person of the highest layer with someone on at ``at``."""
    for layer in reversed(ordered(layers)):
        for period in default_periods(layer, tz, at, end):
            if period.start <= at < period.end:
                return period.user
    return None


def final_v2(
    layers: Sequence[Rotation], overrides: Sequence[Override], tz: ZoneInfo, start: datetime, end: datetime
) -> list[Entry]:
    """The v2 final schedule in ``[start, end)``: one person at a time, gaps left out, neighbours merged."""
    entries: list[Entry] = []
    edges = _edges(layers, overrides, tz, start, end)
    for lo, hi in itertools.pairwise(edges):
        covering = [o for o in overrides if o.start <= lo < o.end]
        user = covering[-1].user if covering else _covering(layers, tz, lo, hi)
        if user is None:
            continue
        previous = entries[-1] if entries else None
        if previous and (previous.user, previous.end, previous.override) == (user, lo, bool(covering)):
            entries[-1] = Entry(previous.start, hi, user, override=previous.override)
        else:
            entries.append(Entry(lo, hi, user, override=bool(covering)))
    return entries


def final_v3(
    rotations: Sequence[Rotation], overrides: Sequence[Override], tz: ZoneInfo, start: datetime, end: datetime
) -> list[Entry]:
    """The v3 final schedule in ``[start, end)``: every rotation's shifts plus the empty windows, by start."""
    entries = [
        Entry(period.start, period.end, period.user, rotation.name, period.type == "override")
        for rotation in ordered(rotations)
        for period in rotation_periods(rotation, overrides, tz, start, end)
    ]
    covered = sorted((e.start, e.end) for e in entries)
    cursor = start
    for lo, hi in covered:
        if lo > cursor:
            entries.append(Entry(cursor, lo, None))
        cursor = max(cursor, hi)
    if cursor < end:
        entries.append(Entry(cursor, end, None))
    return sorted(entries, key=lambda e: (e.start, e.user is None, e.rotation or "", e.end))


def people_at(entries: Sequence[Entry], at: datetime) -> list[str]:
    """Everyone an entry list puts on call at ``at``, in entry order, without repeats."""
    people: list[str] = []
    for entry in entries:
        if entry.user is not None and entry.start <= at < entry.end and entry.user not in people:
            people.append(entry.user)
    return people
