"""Handover timing: a team's fixed (weekly or daily) handover moments and who hands over at one of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.domain import HandoverTime, Shift, Team
from app.store import repo

EPSILON = timedelta(microseconds=1)
CHANGE_SEARCH = timedelta(days=3, hours=12)  # half a week either side: the nearest pager change wins


def _fixed(team: Team) -> HandoverTime:
    hand = team.fixed_handover
    if hand is None:
        raise ValueError(f"team {team.name} has no fixed handover time (handover = {team.handover!r})")
    return hand


def _local_moment(team: Team, day: date) -> datetime:
    # Wall clock in the team's zone, so that a Monday 09:00 stays 09:00 across daylight saving.
    hand = _fixed(team)
    return datetime.combine(day, time(hand.hour, hand.minute), tzinfo=ZoneInfo(team.timezone)).astimezone(UTC)


def handover_at_or_before(team: Team, now: datetime) -> datetime:
    """The most recent (weekly or daily) handover moment of ``team`` at or before ``now`` (aware UTC)."""
    hand = _fixed(team)
    local = now.astimezone(ZoneInfo(team.timezone))
    back = 0 if hand.weekday is None else (local.weekday() - hand.weekday) % 7
    day = local.date() - timedelta(days=back)
    moment = _local_moment(team, day)
    return moment if moment <= now else _local_moment(team, day - hand.period)


def handover_after(team: Team, moment: datetime, weeks: int = 1) -> datetime:
    """The handover ``weeks`` periods (weeks, or days for a daily one) after (negative: before) ``moment``."""
    day = moment.astimezone(ZoneInfo(team.timezone)).date()
    return _local_moment(team, day + _fixed(team).period * weeks)


def next_handover(team: Team, now: datetime) -> datetime:
    """The first handover moment strictly after ``now``."""
    return handover_after(team, handover_at_or_before(team, now))


def covering(shifts: Iterable[Shift], at: datetime) -> tuple[str, ...]:
    """The people on call at ``at`` according to ``shifts``, sorted."""
    return tuple(sorted({s.person for s in shifts if s.covers(at)}))


def pager_change_near(
    shifts: Sequence[Shift], moment: datetime, search: timedelta = CHANGE_SEARCH
) -> datetime | None:
    """The instant nearest to ``moment`` at which the pager's on-call set changes, if any is near."""
    candidates = {t for s in shifts for t in (s.start, s.end) if abs(t - moment) <= search}
    changes = [t for t in candidates if covering(shifts, t) != covering(shifts, t - EPSILON)]
    return min(changes, key=lambda t: (abs(t - moment), t), default=None)


def handing_over(
    session: Session, team: Team, moment: datetime, *, guess: bool = True
) -> tuple[list[str], list[str], datetime]:
    """(outgoing, incoming, when the pager changes) for the handover at ``moment``.

    Without any cached shift, ``guess`` takes the latest on-call snapshot as the incoming people.
    """
    # Half a period either side: the nearest pager change belongs to this handover, not to a neighbour.
    hand = team.fixed_handover
    search = hand.period / 2 if hand is not None else CHANGE_SEARCH
    shifts = repo.shifts_between(session, team.name, moment - search - EPSILON, moment + search)
    change = pager_change_near(shifts, moment, search) or moment
    before = repo.snapshot_at(session, team.name, change - EPSILON)
    outgoing = sorted(before.people) if before else list(covering(shifts, change - EPSILON))
    incoming = list(covering(shifts, change))
    if guess and not incoming and not shifts:
        latest = repo.latest_snapshot(session, team.name)
        incoming = sorted(latest.people) if latest else []
    return outgoing, incoming, change
