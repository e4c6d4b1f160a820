"""Shift turns are found in one pass over the timeline, and the same as asking every shift at every edge."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain import Shift
from app.services import shift_turns
from app.services.shift_turns import EPSILON, layer_changes, turns

BASE = datetime(2026, 3, 2, tzinfo=UTC)
READS = [0]


@dataclass(frozen=True)
class CountedShift(Shift):
    """A shift that counts how often its times are read."""

    def __getattribute__(self, name: str) -> Any:
        if name in ("start", "end"):
            READS[0] += 1
        return super().__getattribute__(name)


def _timeline(count: int, layers: tuple[str, ...] = ("",)) -> list[Shift]:
    """``count`` back-to-back two-hour shifts per layer, four people taking turns."""
    return [
        CountedShift(f"p{(n + k) % 4}@corp.example", start, start + timedelta(hours=2), layer)
        for k, layer in enumerate(layers)
        for n in range(count)
        for start in [BASE + timedelta(hours=2 * n)]
    ]


def test_a_long_timeline_is_read_in_one_pass_not_once_per_edge() -> None:
    # The minute job asks each team's cached timeline (~200 shifts) for its turns several times: asking
    # every shift at every edge was ~n² reads, seconds of CPU a minute for 50 teams (bench/ack.py).
    shifts = _timeline(400, ("primary", "secondary"))
    READS[0] = 0
    found = turns(shifts, BASE, BASE + timedelta(hours=800))
    assert len(found) == 399
    assert READS[0] < 20 * len(shifts)  # asking every shift at every edge: ~600 per shift
    READS[0] = 0
    shift_turns.layer_changes_each(shifts, [turn.start for turn in found])
    assert READS[0] < 20 * len(shifts)


def _brute_people(shifts: list[Shift], at: datetime) -> tuple[str, ...]:
    return tuple(sorted({s.person.lower() for s in shifts if s.start <= at < s.end}))


def test_turns_and_layers_match_asking_every_shift_at_every_edge() -> None:
    rnd = random.Random(18)
    for _ in range(300):
        shifts: list[Shift] = []
        for _ in range(rnd.randint(0, 20)):
            start = BASE + timedelta(hours=rnd.randint(0, 60))
            length = timedelta(hours=rnd.randint(1, 12))
            shifts.append(Shift(rnd.choice("aAbc"), start, start + length, rnd.choice(["", "p", "s"])))
        low = BASE + timedelta(hours=rnd.randint(-5, 30))
        high = low + timedelta(hours=rnd.randint(1, 60))
        minimum = timedelta(hours=rnd.choice([0, 0, 3]))
        found = turns(shifts, low, high, minimum)
        for turn in found:
            assert turn.incoming == _brute_people(shifts, turn.start)
            if minimum == timedelta(0):
                assert turn.outgoing == _brute_people(shifts, turn.start - EPSILON)
        moments = [turn.start for turn in found]
        assert shift_turns.layer_changes_each(shifts, moments) == [layer_changes(shifts, m) for m in moments]
