"""Handover timing and timeline helpers, the day-ahead identity check and the shift-changed notice."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.config import OncallConfig
from app.domain import Shift, Team
from app.runtime import Runtime
from app.services.notices import say_notice
from app.services.people import cached_identities, resolve_people
from app.slack.errors import SlackCallFailed
from app.slack.handover_blocks import PersonView, identity_notice, shift_change_notice
from app.store import repo
from app.store.models import AnnouncedTimeline, Notice, PersonRow

log = logging.getLogger(__name__)

EPSILON = timedelta(microseconds=1)
CHANGE_SEARCH = timedelta(days=3, hours=12)  # half a week either side: the nearest pager change wins
IDENTITY_LEAD = timedelta(hours=24)
CHANGE_HORIZON = timedelta(days=7)
KEY_CHARS = 400  # Notice.key's column width
OPEN_END = "open"

T = TypeVar("T")
Said = Literal["posted", "said_before", "failed"]


def _local_moment(team: Team, day: date) -> datetime:
    # Wall clock in the team's zone, so that a Monday 09:00 stays 09:00 across daylight saving.
    hand = team.handover
    return datetime.combine(day, time(hand.hour, hand.minute), tzinfo=ZoneInfo(team.timezone)).astimezone(UTC)


def handover_at_or_before(team: Team, now: datetime) -> datetime:
    """The most recent handover moment of ``team`` at or before ``now`` (aware UTC)."""
    local = now.astimezone(ZoneInfo(team.timezone))
    day = local.date() - timedelta(days=(local.weekday() - team.handover.weekday) % 7)
    moment = _local_moment(team, day)
    return moment if moment <= now else _local_moment(team, day - timedelta(days=7))


def handover_after(team: Team, moment: datetime, weeks: int = 1) -> datetime:
    """The handover ``weeks`` weeks after (negative: before) the handover at ``moment``."""
    day = moment.astimezone(ZoneInfo(team.timezone)).date()
    return _local_moment(team, day + timedelta(days=7 * weeks))


def next_handover(team: Team, now: datetime) -> datetime:
    """The first handover moment strictly after ``now``."""
    return handover_after(team, handover_at_or_before(team, now))


def covering(shifts: Iterable[Shift], at: datetime) -> tuple[str, ...]:
    """The people on call at ``at`` according to ``shifts``, sorted."""
    return tuple(sorted({s.person for s in shifts if s.covers(at)}))


def pager_change_near(shifts: Sequence[Shift], moment: datetime) -> datetime | None:
    """The instant nearest to ``moment`` at which the pager's on-call set changes, if any is near."""
    candidates = {t for s in shifts for t in (s.start, s.end) if abs(t - moment) <= CHANGE_SEARCH}
    changes = [t for t in candidates if covering(shifts, t) != covering(shifts, t - EPSILON)]
    return min(changes, key=lambda t: (abs(t - moment), t), default=None)


def handing_over(
    session: Session, team: Team, moment: datetime, *, guess: bool = True
) -> tuple[list[str], list[str], datetime]:
    """(outgoing, incoming, when the pager changes) for the handover at ``moment``.

    Without any cached shift, ``guess`` takes the latest on-call snapshot as the incoming people.
    """
    shifts = repo.shifts_between(session, team.name, moment - CHANGE_SEARCH - EPSILON, moment + CHANGE_SEARCH)
    change = pager_change_near(shifts, moment) or moment
    before = repo.snapshot_at(session, team.name, change - EPSILON)
    outgoing = sorted(before.people) if before else list(covering(shifts, change - EPSILON))
    incoming = list(covering(shifts, change))
    if guess and not incoming and not shifts:
        latest = repo.latest_snapshot(session, team.name)
        incoming = sorted(latest.people) if latest else []
    return outgoing, incoming, change


def person_views(session: Session, config: OncallConfig, pager_ids: Iterable[str]) -> dict[str, PersonView]:
    """Cached Slack mappings as render values; the config's [people] map when no row exists yet."""
    known = cached_identities(session, config.people, pager_ids)
    return {pid: PersonView(pid, slack_id, status) for pid, (slack_id, status) in known.items()}


def from_row(row: PersonRow) -> PersonView:
    """A PersonRow as a render value."""
    return PersonView(row.pager_id, row.slack_user_id, row.status)


@dataclass(frozen=True)
class ChangedWindow:
    """A stretch of time whose on-call people differ between two timelines (``end`` None: open-ended)."""

    start: datetime
    end: datetime | None
    before: tuple[str, ...]
    after: tuple[str, ...]


def _key(*parts: str) -> str:
    key = "|".join(parts)
    return key if len(key) <= KEY_CHARS else hashlib.sha256(key.encode()).hexdigest()


def _resolve(runtime: Runtime, pager_ids: list[str], now: datetime) -> dict[str, PersonView]:
    """Map pager ids to Slack accounts; day-old rows are refreshed from Slack, with no transaction open."""
    rows = resolve_people(runtime, pager_ids, now)
    views = {p.lower(): PersonView(p.lower(), None, "not_found") for p in pager_ids}
    views.update({pager_id.lower(): from_row(row) for pager_id, row in rows.items()})
    return views


def _mentionable(runtime: Runtime, pager_ids: list[str], now: datetime) -> dict[str, PersonView]:
    """Like _resolve, but a Slack failure falls back to the cache: a notice must not wait for a lookup."""
    try:
        return _resolve(runtime, pager_ids, now)
    except SlackCallFailed as failure:
        log.warning("shift-change notice without fresh Slack names: %s", failure)
        with runtime.sessions.begin() as session:
            return person_views(session, runtime.config, pager_ids)


def _say_once(
    runtime: Runtime, team: Team, kind: str, key: str, message: dict[str, Any], now: datetime
) -> Said:
    """Say the notice once (services/once.py: claim, post, read back an unknown outcome)."""
    try:
        outcome = say_notice(runtime, team.name, team.channel, kind, key, message, now)
    except OperationalError as error:  # locked for longer than the busy timeout: the next run tries again
        log.warning("%s notice for %s not claimed (will retry): %s", kind, team.name, error.orig)
        return "failed"
    if outcome.result == "posted":
        return "posted"
    if outcome.result in ("found", "done"):
        return "said_before"
    # Refused, unknown or in flight elsewhere: keep the old baseline so that a later refresh comes back.
    log.warning("%s notice for %s not posted yet (will retry): %s", kind, team.name, outcome.detail)
    return "failed"


def _check_team(runtime: Runtime, team: Team, now: datetime) -> int:
    moment = next_handover(team, now)
    if moment - now > IDENTITY_LEAD:
        return 0
    with runtime.sessions.begin() as session:
        _, incoming, _ = handing_over(session, team, moment, guess=False)
    views = _resolve(runtime, incoming, now)
    problems = [views[p.lower()] for p in incoming if p.lower() in views and not views[p.lower()].mapped]
    if not problems:
        return 0
    message = identity_notice(team.name, team.timezone, moment, problems)
    key = _key(moment.isoformat(), *(f"{p.pager_id}:{p.status}" for p in problems))
    return int(_say_once(runtime, team, "identity", key, message, now) == "posted")


def check_incoming_identities(runtime: Runtime, now: datetime) -> int:
    """24 h before each handover, warn the team channel once about incoming people Slack cannot reach."""
    posted = 0
    for team in runtime.config.teams:
        try:
            posted += _check_team(runtime, team, now)
        except SlackCallFailed as failure:  # Slack lookups failed: the next hourly run tries again
            log.warning("identity check for %s skipped: %s", team.name, failure)
        except Exception:  # one team's failure must not stall the others
            log.exception("identity check for %s failed", team.name)
    return posted


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


def _open_key(window: ChangedWindow) -> str:
    return _key(window.start.isoformat(), OPEN_END, *window.after)


def _window_key(window: ChangedWindow) -> str:
    return _key(window.start.isoformat(), window.end.isoformat() if window.end else OPEN_END, *window.after)


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
    views = _mentionable(runtime, [p for w in windows for p in (*w.before, *w.after)], now) if windows else {}
    said: list[Said] = []
    for window in windows:
        message = shift_change_notice(
            team.name,
            team.timezone,
            window.start,
            window.end,
            [views[p.lower()] for p in window.before],
            [views[p.lower()] for p in window.after],
        )
        said.append(_say_once(runtime, team, "shift_change", _window_key(window), message, now))
    # Move on to ``after`` only once every change in it was said; after a failure, keep diffing against
    # the old baseline (notice keys keep its already-said windows quiet). Past or far-off changes: no news.
    _remember_timeline(runtime, team.name, baseline if "failed" in said else after, now)
    return said.count("posted")
