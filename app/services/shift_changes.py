"""Shift changes: where two timelines disagree, and the timeline the team channel was last told about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy.orm import Session

from app.domain import Shift
from app.runtime import Runtime
from app.services.handover_timing import covering
from app.store import repo
from app.store.models import AnnouncedTimeline

CHANGE_HORIZON = timedelta(days=7)
OPEN_END = "open"


@dataclass(frozen=True, slots=True)
class ChangedWindow:
    """A stretch of time whose on-call people differ between two timelines (``end`` None: open-ended)."""

    start: datetime
    end: datetime | None
    before: tuple[str, ...]
    after: tuple[str, ...]


def changed_windows(before: Sequence[Shift], after: Sequence[Shift]) -> list[ChangedWindow]:
    """Where the two timelines disagree about who is on call, over the span both of them cover."""
    if not before or not after:
        return []
    low = max(min(s.start for s in before), min(s.start for s in after))
    high = min(max(s.end for s in before), max(s.end for s in after))
    edges = sorted({t for s in (*before, *after) for t in (s.start, s.end) if low < t < high} | {low, high})
    windows: list[ChangedWindow] = []
    for start, end in pairwise(edges):
        old, new = covering(before, start), covering(after, start)
        if old == new:
            continue
        last = windows[-1] if windows else None
        if last is not None and last.end == start and (last.before, last.after) == (old, new):
            windows[-1] = ChangedWindow(last.start, end, old, new)
        else:
            windows.append(ChangedWindow(start, end, old, new))
    # A window reaching the edge of either fetch is cut by the fetch, not by the pager: its end is unknown.
    return [ChangedWindow(w.start, None if w.end == high else w.end, w.before, w.after) for w in windows]


def told_timeline(session: Session, team: str) -> list[Shift] | None:
    """The timeline the team channel was last told about (None: never)."""
    row = session.get(AnnouncedTimeline, team)
    if row is None:
        return None
    return [Shift(p, datetime.fromisoformat(s), datetime.fromisoformat(e)) for p, s, e in row.shifts]


def remember_timeline(runtime: Runtime, team: str, shifts: Sequence[Shift], now: datetime) -> None:
    """Store ``shifts`` as the timeline the team channel now knows."""
    stored = [[s.person, s.start.isoformat(), s.end.isoformat()] for s in shifts]
    with runtime.sessions.begin() as session:
        row = session.get(AnnouncedTimeline, team)
        if row is None or row.shifts != stored:
            values = {"team": team, "shifts": stored, "updated_at": now}
            repo.upsert(session, AnnouncedTimeline, values, ["team"])
