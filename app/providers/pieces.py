"""A pager's timeline as pieces: stretches of one person from one source, joined once for every pager.

Each pager answers with (source, person, start, end) stretches (a rotation, a layer, an escalation level)
that may touch or repeat; ``merge_by_source`` joins and clips them, ``shifts`` makes them domain Shifts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.domain import Shift

Piece = tuple[str, str, datetime, datetime]


def merge_by_source(pieces: list[Piece], start: datetime, end: datetime) -> list[Piece]:
    """Join touching stretches of one user from one source, clip to ``[start, end)``, sort by start."""
    merged: list[list[Any]] = []
    for source, user, lo, hi in sorted(pieces):
        previous = merged[-1] if merged else None
        if previous and previous[0] == source and previous[1] == user and lo <= previous[3]:
            previous[3] = max(previous[3], hi)
        else:
            merged.append([source, user, lo, hi])
    stretches = {
        (source, user, max(lo, start), min(hi, end))
        for source, user, lo, hi in merged
        if min(hi, end) > max(lo, start)
    }
    return sorted(stretches, key=lambda s: (s[2], s[1], s[0], s[3]))


def shifts(
    pieces: list[Piece], start: datetime, end: datetime, identity: Callable[[str], str] = str
) -> list[Shift]:
    """The pieces as Shifts (each source its layer, each person as ``identity`` names them), sorted."""
    found = {
        Shift(identity(user), lo, hi, source) for source, user, lo, hi in merge_by_source(pieces, start, end)
    }
    return sorted(found, key=lambda s: (s.start, s.person, s.end, s.layer))
