"""When the scheduled cycle checks a team channel (conversations.info): hourly per team, paced for Slack.

The check used to ride on each team's hourly timeline read, and every team's timeline comes due in the
same cycle: 1,000 teams sent 1,000 conversations.info at once, far over Slack's Tier 3 (about 50 a
minute), a 429 storm every hour. Now each team is due an hour after its last check, a sliding window
lets at most ``per_minute`` checks through, and a due team the window refused is checked in a later cycle.
With 5-minute cycles that is every team every hour up to 12 times ``per_minute`` teams, less often beyond.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from app.pacing import SlidingWindow

CHECK_EVERY = timedelta(hours=1)
PER_MINUTE = 40  # conversations.info is Tier 3 (50+ a minute): room is left for `check` and other calls


class ChannelChecks:
    """Which team channels are due a check, and a window that keeps the checks within Slack's limit."""

    def __init__(self, per_minute: int = PER_MINUTE, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = SlidingWindow(per_minute, 60.0, clock)
        self._last: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def due(self, team: str, now: datetime) -> bool:
        """True when ``team``'s channel was not checked in the last hour (or the clock went back)."""
        with self._lock:
            last = self._last.get(team)
        return last is None or not last <= now < last + CHECK_EVERY

    def take(self, team: str, now: datetime) -> bool:
        """Claim a check of ``team``'s channel now: True when it is due and the window lets one through."""
        if not self.due(team, now) or not self._window.try_acquire():
            return False
        with self._lock:
            self._last[team] = now
        return True
