"""Shift-change notices as one digest per team: every change to the coming week, in one post, once.

After each read of the pager's timeline, the coming week is compared with the timeline the channel was
last told about (``AnnouncedTimeline``). A change is announced once it has been stable for two reads:
the timeline before this read (the previous read) shows exactly the same changes as this one, so an
override being edited is told once, in its final form, and one that is reverted before it was told is
never told. At most one digest per team per hour; it names the people who were replaced without
mentioning them (only the people who take a shift over are pinged). Each digest is a once-only notice
keyed by its changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.domain import Shift, Team
from app.model.messages import ShiftChange, ShiftDigest, TeamShift
from app.model.person import Person
from app.runtime import Runtime
from app.services.notice_once import notice_key, say_team_notice
from app.services.person_views import mentionable_views
from app.services.shift_changes import (
    CHANGE_HORIZON,
    ChangedWindow,
    changed_windows,
    remember_timeline,
    told_timeline,
)
from app.store.db import reading
from app.store.models import Notice

log = logging.getLogger(__name__)

KIND = "shift_digest"
AT_MOST_EVERY = timedelta(hours=1)


def coming_changes(told: Sequence[Shift], timeline: Sequence[Shift], now: datetime) -> list[ChangedWindow]:
    """The changes of ``timeline`` against ``told`` that touch the coming week."""
    return [
        w
        for w in changed_windows(told, timeline)
        if w.start < now + CHANGE_HORIZON and (w.end is None or w.end > now)
    ]


def _as_slack(views: dict[str, Person], pager_ids: Sequence[str]) -> set[str]:
    """The Slack users behind these pager identities (an identity Slack does not know stands for itself)."""
    return {views[p.lower()].slack_user_id or p.lower() for p in pager_ids}


def _last_digest(runtime: Runtime, team: str) -> datetime | None:
    with reading(runtime.sessions) as session:
        return session.scalar(
            select(func.max(Notice.created_at)).where(Notice.team == team, Notice.kind == KIND)
        )


def _key(windows: Sequence[ChangedWindow]) -> str:
    parts = [
        f"{w.start.isoformat()}/{w.end.isoformat() if w.end else 'open'}/{'+'.join(w.after)}" for w in windows
    ]
    return notice_key(*parts)


def _digest(team: Team, windows: Sequence[ChangedWindow], views: dict[str, Person]) -> ShiftDigest:
    changes = tuple(
        ShiftChange(
            TeamShift(team.name, team.timezone, w.start),
            w.end,
            tuple(views[p.lower()] for p in w.before),
            tuple(views[p.lower()] for p in w.after),
            team.language,
        )
        for w in windows
    )
    return ShiftDigest(team.name, team.timezone, changes, team.language)


def announce_shift_changes(
    runtime: Runtime, team: Team, before: list[Shift], after: list[Shift], now: datetime
) -> int:
    """After a timeline read (``before``: the cache until then): post the digest when due; 1 when posted.

    Manages its own short transactions; Slack is only called with none open.
    """
    with reading(runtime.sessions) as session:
        told = told_timeline(session, team.name)
    if told is None:  # the first read since shift changes were told: the cache until now was known
        told = before or after
        remember_timeline(runtime, team.name, told, now)
    now_raw, previous_raw = coming_changes(told, after, now), coming_changes(told, before, now)
    people = [p for w in (*now_raw, *previous_raw) for p in (*w.before, *w.after)]
    views = mentionable_views(runtime, people, now) if people else {}
    # People are compared by who they are in Slack, not by pager identity: a team that moved pagers
    # (Opsgenie's emails, JSM's account ids) finds the same people under new identities, no change.
    now_changes = [w for w in now_raw if _as_slack(views, w.before) != _as_slack(views, w.after)]
    previous = [w for w in previous_raw if _as_slack(views, w.before) != _as_slack(views, w.after)]
    if not now_changes:
        remember_timeline(runtime, team.name, after, now)  # nothing to tell: a reverted change included
        return 0
    if previous != now_changes:
        log.info("%s: %d coming shift change(s), told once stable", team.name, len(now_changes))
        return 0
    last = _last_digest(runtime, team.name)
    if last is not None and now - last < AT_MOST_EVERY:
        return 0  # the next read tells them, an hour after the last digest
    said = say_team_notice(runtime, team, KIND, _key(now_changes), _digest(team, now_changes, views), now)
    if said == "failed":
        return 0  # told stays: the next read tries again
    remember_timeline(runtime, team.name, after, now)
    return int(said == "posted")
