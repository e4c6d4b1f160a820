"""When a team's on-call data is stale: one definition for notices, /oncall, App Home, handovers, `who`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

# A blip (one throttled or failed answer) is a log line; data is stale only once it is this many
# refresh intervals old *and* this many cycles in a row failed.
STALE_AFTER_CYCLES = 2


def stale_after(refresh_minutes: int) -> timedelta:
    """How old the last successful refresh may get before the data counts as stale."""
    return timedelta(minutes=STALE_AFTER_CYCLES * refresh_minutes)


def is_stale(
    *,
    last_success_at: datetime | None,
    failing_since: datetime | None,
    last_attempt_at: datetime | None,
    now: datetime,
    refresh_minutes: int,
) -> bool:
    """True when the last success is older than 2 refresh intervals and at least two cycles failed.

    A cycle that never ran counts as failed: with no failure recorded, data that old means the refresh
    itself stopped (the bot is down or stuck), and it is just as stale. Data never fetched is "no data
    yet", not stale, until cycles fail.
    """
    if last_success_at is not None and now - last_success_at <= stale_after(refresh_minutes):
        return False
    if failing_since is None:
        return last_success_at is not None
    # roster records each failure's time; the first one is failing_since. A later one: a second cycle.
    return last_attempt_at is not None and last_attempt_at > failing_since


class RefreshState(Protocol):
    """What staleness reads of a team's refresh state (a TeamState row, or /oncall's plain copy of one)."""

    @property
    def last_attempt_at(self) -> datetime | None: ...
    @property
    def last_success_at(self) -> datetime | None: ...
    @property
    def failing_since(self) -> datetime | None: ...


def state_is_stale(state: RefreshState | None, now: datetime, refresh_minutes: int) -> bool:
    """is_stale() for a team's refresh state row (None: never refreshed, so not stale but no data)."""
    if state is None:
        return False
    return is_stale(
        last_success_at=state.last_success_at,
        failing_since=state.failing_since,
        last_attempt_at=state.last_attempt_at,
        now=now,
        refresh_minutes=refresh_minutes,
    )
