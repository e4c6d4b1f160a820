"""One sliding window of our own calls: at most ``limit`` in any ``window`` seconds, never a burst beyond.

A sliding window rather than a token bucket: a bucket with a burst of 20 refilling at 20 a minute lets
40 calls into the first minute, which is the 429 storm a per-minute limit answers with. Slack's
usergroups.users.update (Tier 2) and PagerDuty's REST API (960 a minute per key) are paced with it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most ``limit`` calls in any ``window`` seconds, counted when they are made (thread-safe)."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._made: deque[float] = deque()
        self._lock = threading.Lock()

    def _free_in(self, now: float) -> float:
        while self._made and self._made[0] <= now - self.window:
            self._made.popleft()
        return 0.0 if len(self._made) < self.limit else self._made[0] + self.window - now

    def wait(self) -> float:
        """Seconds until a call may be made (0 when one may be made now)."""
        with self._lock:
            return self._free_in(self.clock())

    def made(self) -> None:
        """Count one call made now."""
        with self._lock:
            self._made.append(self.clock())

    def try_acquire(self) -> bool:
        """Count one call if one may be made now; never blocks (a deferred caller comes back later)."""
        with self._lock:
            now = self.clock()
            if self._free_in(now) > 0:
                return False
            self._made.append(now)
            return True
