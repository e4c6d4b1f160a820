"""The built-in rotation: who is on call, computed from the teams file alone (no pager, no network).

Each layer's shifts begin at ``start + k * shift`` on the team's local wall clock, so a daily shift that
begins at 09:00 begins at 09:00 on both sides of a DST change. A boundary that falls into a spring-forward
gap moves forward to the end of the gap (the first instant the wall clock shows that time or later); one in
a fall-back overlap is its first occurrence. Layers are on call at the same time; an override replaces
every layer while it lasts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.domain import (
    AlertRef,
    AlertRequest,
    AlertState,
    AlertStatus,
    OnCall,
    RotationLayer,
    RotationSpec,
    Shift,
    require_aware,
)
from app.i18n import N_
from app.providers import ProviderError

_SECOND = timedelta(seconds=1)
_MICROSECOND = timedelta(microseconds=1)


class CannotPage(ProviderError):
    """The built-in rotation has no pager to call (``can_page`` is False; callers check it first)."""

    retryable = False


def wall_clock_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant when ``zone``'s wall clock first shows ``local`` (or, inside a gap, the gap's end)."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == local:
        return first  # an ordinary time, or the first of a fall-back overlap's two
    # A spring-forward gap: ``local`` never shows. Find the transition, the first second whose wall clock
    # is past ``local``: every instant before it shows an earlier time, every one after a later one.
    low = local.replace(tzinfo=zone, fold=1).astimezone(UTC)  # before the transition
    high = first  # after it
    while high - low > _SECOND:
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= local:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def layer_shifts(
    layer: RotationLayer, zone: ZoneInfo, start: datetime, end: datetime, name: str = ""
) -> Iterator[Shift]:
    """The layer's turns overlapping ``[start, end)`` (aware UTC), clipped, one person's turns joined."""
    local_start = start.astimezone(zone).replace(tzinfo=None)
    # One turn of margin: the offset between UTC and the wall clock moves the first turn by an hour or two.
    k = max((local_start - layer.start) // layer.shift - 1, 0)
    turn: tuple[str, datetime, datetime] | None = None  # the turn being joined with the same person's next
    while True:
        lo = wall_clock_instant(layer.start + k * layer.shift, zone)
        if lo >= end:
            break
        hi = wall_clock_instant(layer.start + (k + 1) * layer.shift, zone)
        person = layer.people[k % len(layer.people)]
        k += 1
        if hi <= start or hi <= lo:
            continue  # before the window, or swallowed whole by a gap
        if turn is not None and turn[0] == person and turn[2] == lo:
            turn = (person, turn[1], hi)
            continue
        if turn is not None:
            yield Shift(turn[0], max(turn[1], start), min(turn[2], end), name)
        turn = (person, lo, hi)
    if turn is not None:
        yield Shift(turn[0], max(turn[1], start), min(turn[2], end), name)


def _minus(shift: Shift, holes: list[tuple[datetime, datetime]]) -> Iterator[Shift]:
    """What is left of ``shift`` outside the (sorted) ``holes``."""
    cursor = shift.start
    for lo, hi in holes:
        if hi <= cursor or lo >= shift.end:
            continue
        if lo > cursor:
            yield Shift(shift.person, cursor, lo, shift.layer)
        cursor = max(cursor, hi)
    if cursor < shift.end:
        yield Shift(shift.person, cursor, shift.end, shift.layer)


def rotation_shifts(spec: RotationSpec, zone: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    """The final shifts of ``spec`` overlapping ``[start, end)``: layers, with the overrides winning."""
    overrides = sorted(
        (wall_clock_instant(o.start, zone), wall_clock_instant(o.end, zone), o.person) for o in spec.overrides
    )
    holes = [(lo, hi) for lo, hi, _ in overrides if lo < end and hi > start]
    # Several layers are named "layer 1", "layer 2", ... in the teams file's order; one layer needs no name.
    names = [f"layer {i + 1}" if len(spec.layers) > 1 else "" for i in range(len(spec.layers))]
    final = [
        piece
        for layer, name in zip(spec.layers, names, strict=True)
        for shift in layer_shifts(layer, zone, start, end, name)
        for piece in _minus(shift, holes)
    ]
    final += [
        Shift(person, max(lo, start), min(hi, end)) for lo, hi, person in overrides if lo < end and hi > start
    ]
    return sorted(final, key=lambda s: (s.start, s.person, s.end, s.layer))


class RotationProvider:
    """A team's built-in rotation as a Provider: shifts from its table, computed on its wall clock."""

    name = N_("the rotation")  # said to people: a message id
    can_page = False
    can_note = False

    def __init__(self, spec: RotationSpec, timezone: str) -> None:
        self._spec = spec
        self._zone = ZoneInfo(timezone)

    def on_call(self, schedule: str, at: datetime) -> OnCall:
        """Who the rotation has on call at ``at``: overrides, else every layer's person, in layer order."""
        at = require_aware(at, "at").astimezone(UTC)
        people = [s.person for s in rotation_shifts(self._spec, self._zone, at, at + _MICROSECOND)]
        order = {person: index for index, person in enumerate(self._order())}
        people.sort(key=lambda person: order.get(person, -1))
        return OnCall(schedule=schedule, at=at, people=tuple(dict.fromkeys(people)))

    def shifts(self, schedule: str, start: datetime, end: datetime) -> list[Shift]:
        """The rotation's final shifts overlapping ``[start, end)``, clipped, sorted by start."""
        start, end = require_aware(start, "start").astimezone(UTC), require_aware(end, "end").astimezone(UTC)
        return rotation_shifts(self._spec, self._zone, start, end) if end > start else []

    def check(self) -> None:
        """Nothing to reach: the rotation is the teams file itself, validated at load."""

    def create_alert(self, alert: AlertRequest) -> str:
        """Never called (``can_page`` is False); raises CannotPage."""
        raise CannotPage("the built-in rotation has no pager to raise an alert in")

    def alert_status(self, request_id: str) -> AlertStatus:
        """Never called (``can_page`` is False); raises CannotPage."""
        raise CannotPage("the built-in rotation has no pager alerts to follow")

    def acknowledge_alert(
        self, alert: AlertRef, *, note: str | None = None, user: str | None = None, email: str | None = None
    ) -> str:
        """Never called (``can_page`` is False); raises CannotPage."""
        raise CannotPage("the built-in rotation has no pager alerts to acknowledge")

    def close_alert(
        self, alert: AlertRef, *, note: str | None = None, user: str | None = None, email: str | None = None
    ) -> str:
        """Never called (``can_page`` is False); raises CannotPage."""
        raise CannotPage("the built-in rotation has no pager alerts to close")

    def add_note(self, alert: AlertRef, note: str, *, user: str | None = None) -> str:
        """Never called (``can_note`` is False); raises CannotPage."""
        raise CannotPage("the built-in rotation has no pager alerts to add notes to")

    def alert_state(self, alert: AlertRef) -> AlertState | None:
        """Never called (``can_page`` is False): no pager, so no alert to read back."""
        return None

    def alert_url(self, alert: AlertRef) -> str | None:
        """No pager, so no page to open."""
        return None

    def close(self) -> None:
        """Nothing to release."""

    def _order(self) -> list[str]:
        """Overrides first (they win), then the layers' people in their listed order."""
        layered = [person for layer in self._spec.layers for person in layer.people]
        return [o.person for o in self._spec.overrides] + layered
