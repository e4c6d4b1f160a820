"""Until when an /oncall answer read now stays the same, for as long as the data it was read from does.

An answer depends on the clock as well as on the cache: who is on call changes at shift boundaries, a
week's window slides, data turns stale, "3 min ago" ticks and "today" turns into a date at midnight.
The readers note each such instant here as they read; the earliest after ``now`` ends the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# However quiet the schedule, an answer is read afresh at least this often.
MAX_VALID = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


class Validity:
    """The earliest instant after ``now`` at which an answer read at ``now`` may read differently.

    ``ages_apart``: for values read to be rendered later, at other instants (app/slack/answer_memo.py's
    views): the ages they show tick with the clock they are rendered at, so they are kept in ``ages``
    instead of ending ``until``; ``rendered_at`` gives the validity of one rendering.
    """

    def __init__(self, now: datetime, *, ages_apart: bool = False) -> None:
        self.now = now
        self.until = now + MAX_VALID
        self.profiles = False  # True once the answer used a cached Slack profile (slack_users)
        self.ages: list[datetime] | None = [] if ages_apart else None

    def changes_at(self, *moments: datetime) -> None:
        """The answer may change at each of ``moments`` (only those after ``now`` matter)."""
        for moment in moments:
            if self.now < moment < self.until:
                self.until = moment

    def changes_at_each(
        self, moments: Sequence[datetime], shift: timedelta = timedelta(0), *, just_after: bool = False
    ) -> None:
        """``changes_at`` (or ``changes_after``) each of ``moments`` + ``shift``, in one pass."""
        if just_after:
            shift += timedelta.resolution
        floor = self.now - shift
        first = min((moment for moment in moments if moment > floor), default=None)
        if first is not None:
            self.changes_at(first + shift)

    def changes_after(self, *moments: datetime) -> None:
        """The answer may change just after each of ``moments`` (a test like ``age > limit``)."""
        self.changes_at(*(moment + timedelta.resolution for moment in moments))

    def age_shown(self, as_of: datetime) -> None:
        """An age is shown to the minute ("3 min ago", "2 h 5 min ago"): it changes a minute on."""
        if self.ages is not None:
            self.ages.append(as_of)
            return
        minutes = (self.now - as_of) // MINUTE
        self.changes_at(as_of + (minutes + 1) * MINUTE)

    def rendered_at(self, now: datetime) -> Validity:
        """The validity of an answer rendered at ``now`` (within this one) from the values read here."""
        shown = Validity(now)
        shown.profiles = self.profiles
        shown.changes_at(self.until)
        for as_of in self.ages or ():
            shown.age_shown(as_of)
        return shown

    def days_named_in(self, zone: str) -> None:
        """Times are named by day in ``zone`` ("today", "tomorrow", a date): they change at its midnight."""
        local = self.now.astimezone(ZoneInfo(zone))
        midnight = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=local.tzinfo)
        self.changes_at(midnight.astimezone(UTC))
