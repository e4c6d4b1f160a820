"""Handover timing: the team's weekly handover moments and who hands over to whom at one of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.domain import Shift, Team
from app.store import repo

EPSILON = timedelta(microseconds=1)
CHANGE_SEARCH = timedelta(days=3, hours=12)  # half a week either side: the nearest pager change wins


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
