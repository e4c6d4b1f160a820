"""Shift-change notices: one post per shift in the next 7 days that changed hands, never twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import Shift, Team
from app.model.handover import PersonView
from app.model.messages import ShiftChange
from app.runtime import Runtime
from app.services.handover_timing import covering
from app.services.notice_once import Said, notice_key, say_team_notice
from app.services.person_views import mentionable_views
from app.store import repo
from app.store.models import AnnouncedTimeline, Notice

CHANGE_HORIZON = timedelta(days=7)
OPEN_END = "open"


@dataclass(frozen=True)
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


def _as_slack(views: dict[str, PersonView], pager_ids: Sequence[str]) -> set[str]:
    """The Slack users behind these pager identities (an identity Slack does not know stands for itself)."""
    return {views[p.lower()].slack_id or p.lower() for p in pager_ids}


def _open_key(window: ChangedWindow) -> str:
    return notice_key(window.start.isoformat(), OPEN_END, *window.after)


def _window_key(window: ChangedWindow) -> str:
    return notice_key(
        window.start.isoformat(), window.end.isoformat() if window.end else OPEN_END, *window.after
    )


def _said_open(session: Session, team: Team, window: ChangedWindow) -> bool:
    # Once announced as "from … on", the same change seen later with its real end is not news.
    statement = select(Notice.id).where(
        Notice.team == team.name, Notice.kind == "shift_change", Notice.key == _open_key(window)
    )
    return session.scalars(statement).first() is not None


def _told_timeline(session: Session, team: str) -> list[Shift] | None:
    row = session.get(AnnouncedTimeline, team)
    if row is None:
        return None
    return [Shift(p, datetime.fromisoformat(s), datetime.fromisoformat(e)) for p, s, e in row.shifts]


def _remember_timeline(runtime: Runtime, team: str, shifts: list[Shift], now: datetime) -> None:
    stored = [[s.person, s.start.isoformat(), s.end.isoformat()] for s in shifts]
    with runtime.sessions.begin() as session:
        row = session.get(AnnouncedTimeline, team)
        if row is None or row.shifts != stored:
            values = {"team": team, "shifts": stored, "updated_at": now}
            repo.upsert(session, AnnouncedTimeline, values, ["team"])


def announce_shift_changes(
    runtime: Runtime, team: Team, before: list[Shift], after: list[Shift], now: datetime
) -> int:
    """Post one notice per shift in the next 7 days that changed hands; never twice for the same change.

    Compares ``after`` with the timeline the channel was last told about (``before`` the first time), so
    that a notice Slack refused is posted by a later refresh even though the cache already holds ``after``.
    Manages its own short transactions; Slack is only called with none open.
    """
    with runtime.sessions.begin() as session:
        told = _told_timeline(session, team.name)
        baseline = before if told is None else told
        windows = [
            w
            for w in changed_windows(baseline, after)
            if w.start < now + CHANGE_HORIZON
            and (w.end is None or w.end > now)
            and (w.end is None or not _said_open(session, team, w))
        ]
    views = (
        mentionable_views(runtime, [p for w in windows for p in (*w.before, *w.after)], now)
        if windows
        else {}
    )
    # People are compared by who they are in Slack, not by pager identity: a team that moved pagers
    # (Opsgenie's emails, JSM's account ids) finds the same people under new identities, no change.
    windows = [w for w in windows if _as_slack(views, w.before) != _as_slack(views, w.after)]
    said: list[Said] = []
    for window in windows:
        message = ShiftChange(
            team.name,
            team.timezone,
            window.start,
            window.end,
            tuple(views[p.lower()] for p in window.before),
            tuple(views[p.lower()] for p in window.after),
            team.language,
        )
        said.append(say_team_notice(runtime, team, "shift_change", _window_key(window), message, now))
    # Move on to ``after`` only once every change in it was said; after a failure, keep diffing against
    # the old baseline (notice keys keep its already-said windows quiet). Past or far-off changes: no news.
    _remember_timeline(runtime, team.name, baseline if "failed" in said else after, now)
    return said.count("posted")
