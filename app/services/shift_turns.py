"""Shift turns: the moments a team's on-call people change in the cached timeline, short stretches folded.

Pure functions over domain shifts. A *segment* is a stretch with one set of people on call; a *turn* is the
start of a segment whose people differ from the one before it: that is where a per-shift handover happens.
A segment shorter than the team's ``handover_min`` (a lunch-time override) gets no turn of its own: it is
folded into the segment before it, and only the digest of shift changes tells about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from app.domain import Shift

EPSILON = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Segment:
    """From ``start`` to ``end`` the same ``people`` are on call (sorted pager identities)."""

    start: datetime
    end: datetime
    people: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Turn:
    """A shift change: ``incoming`` take over from ``outgoing`` at ``start`` until ``end``.

    ``end`` is None when the timeline ends before the shift does (its real end is not known yet);
    ``since`` is when the outgoing shift began, None when that lies before the timeline.
    """

    start: datetime
    end: datetime | None
    outgoing: tuple[str, ...]
    incoming: tuple[str, ...]
    since: datetime | None

    @property
    def arriving(self) -> tuple[str, ...]:
        """The incoming people who were not on call just before (those a reminder is for)."""
        return tuple(p for p in self.incoming if p not in self.outgoing)


def _people_at(shifts: Sequence[Shift], at: datetime) -> tuple[str, ...]:
    return tuple(sorted({s.person.lower() for s in shifts if s.covers(at)}))


class _Sweep:
    """The shifts covering each of a rising sequence of instants, found in one pass over the timeline.

    Asking every shift at every edge was quadratic: the minute job asks a 200-shift timeline for its
    turns several times per team, and that was seconds of CPU a minute for 50 teams (bench/ack.py).
    """

    def __init__(self, shifts: Sequence[Shift]) -> None:
        self._pending = sorted(shifts, key=lambda s: s.start)
        self._next = 0
        self._active: list[Shift] = []

    def reaching(self, at: datetime, since: datetime | None = None) -> list[Shift]:
        """Every shift that starts at or before ``at`` and ends after ``since`` (default ``at``).

        Neither ``at`` nor ``since`` may go back from one call to the next.
        """
        pending, index = self._pending, self._next
        while index < len(pending) and pending[index].start <= at:
            self._active.append(pending[index])
            index += 1
        self._next = index
        after = at if since is None else since
        self._active = [s for s in self._active if s.end > after]
        return self._active


def segments(shifts: Sequence[Shift], low: datetime, high: datetime) -> list[Segment]:
    """The timeline over ``[low, high)`` as consecutive segments, each with a different set of people."""
    if high <= low:
        return []
    edges = sorted({t for s in shifts for t in (s.start, s.end) if low < t < high} | {low, high})
    sweep = _Sweep(shifts)
    found: list[Segment] = []
    for start, end in pairwise(edges):
        people = tuple(sorted({s.person.lower() for s in sweep.reaching(start)}))
        if found and found[-1].people == people:
            found[-1] = Segment(found[-1].start, end, people)
        else:
            found.append(Segment(start, end, people))
    return found


def folded(parts: Sequence[Segment], minimum: timedelta) -> list[Segment]:
    """``parts`` with every inner segment shorter than ``minimum`` folded into the segment before it.

    The first and last segments are cut by the ends of the timeline, so their length says nothing:
    they are never folded.
    """
    kept: list[Segment] = []
    for index, part in enumerate(parts):
        inner = 0 < index < len(parts) - 1
        if kept and inner and part.end - part.start < minimum:
            kept[-1] = Segment(kept[-1].start, part.end, kept[-1].people)
            continue
        if kept and kept[-1].people == part.people:
            kept[-1] = Segment(kept[-1].start, part.end, part.people)
            continue
        kept.append(part)
    return kept


def turns(
    shifts: Sequence[Shift], low: datetime, high: datetime, minimum: timedelta = timedelta(0)
) -> list[Turn]:
    """Every shift change of the timeline over ``[low, high)``, short stretches folded away."""
    parts = folded(segments(shifts, low, high), minimum)
    found = []
    for index in range(1, len(parts)):
        before, part = parts[index - 1], parts[index]
        found.append(
            Turn(
                start=part.start,
                end=part.end if part.end < high else None,
                outgoing=before.people,
                incoming=part.people,
                since=before.start if index > 1 else None,
            )
        )
    return found


def short_segments(parts: Sequence[Segment], minimum: timedelta) -> list[Segment]:
    """The inner segments shorter than ``minimum``: on call too briefly for a handover of their own."""
    return [p for i, p in enumerate(parts) if 0 < i < len(parts) - 1 and p.end - p.start < minimum]


Layers = tuple[tuple[str, tuple[str, ...]], ...]
LayerChanges = tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]  # (layer, outgoing, incoming)


def layers_at(shifts: Sequence[Shift], at: datetime) -> Layers:
    """Who is on call at ``at`` per layer, by layer name; empty unless the shifts name two layers or more."""
    by_layer: dict[str, set[str]] = {}
    for shift in shifts:
        if shift.covers(at):
            by_layer.setdefault(shift.layer, set()).add(shift.person.lower())
    if len(by_layer) < 2:
        return ()
    return tuple((name, tuple(sorted(people))) for name, people in sorted(by_layer.items()))


def layer_changes(shifts: Sequence[Shift], at: datetime) -> LayerChanges:
    """(layer, outgoing, incoming) for each layer at a change at ``at``; empty for a single layer."""
    before, after = dict(layers_at(shifts, at - EPSILON)), dict(layers_at(shifts, at))
    if not before and not after:
        return ()
    names = sorted(set(before) | set(after))
    return tuple((name, before.get(name, ()), after.get(name, ())) for name in names)


def layer_changes_each(shifts: Sequence[Shift], moments: Sequence[datetime]) -> list[LayerChanges]:
    """``layer_changes`` at each of ``moments`` (rising), in one pass over the timeline."""
    sweep = _Sweep(shifts)
    # Every shift covering a moment, or the instant just before it, is among those reaching it.
    return [layer_changes(sweep.reaching(moment, moment - EPSILON), moment) for moment in moments]
