"""The process-wide stop: waits and retries end early once it is set, and work in flight is counted.

SIGTERM gives a process about 30 s before SIGKILL (Heroku, Kubernetes). Every wait the bot does on its own
(a pager backoff, a Slack Retry-After) waits on this instead of sleeping, so that stopping is not held up
by it; work still on its way is given a bounded time to finish and is otherwise left to be resumed
(its leases run out and the next process, or another replica, takes it over).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Stopping:
    """Set once when the process should stop, with the reason when it is not a plain signal."""

    def __init__(self, event: threading.Event | None = None) -> None:
        self._event = event or threading.Event()
        self._reason: str | None = None
        self._busy = 0
        self._idle = threading.Condition()

    def stop(self, reason: str | None = None) -> None:
        """Ask the process to stop; a reason (a sentence) makes the exit a failure. The first reason wins."""
        with self._idle:
            if reason and self._reason is None:
                self._reason = reason
        self._event.set()

    @property
    def reason(self) -> str | None:
        """Why the process stopped on its own, or None (a signal, a test)."""
        return self._reason

    def is_set(self) -> bool:
        """True once stopping has begun."""
        return self._event.is_set()

    def wait(self, seconds: float | None = None) -> bool:
        """Wait up to ``seconds`` (forever when None); True when stopping has begun."""
        return self._event.wait(seconds)

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` unless stopping begins first (a drop-in for ``time.sleep``)."""
        self._event.wait(seconds)

    @contextmanager
    def working(self) -> Iterator[None]:
        """Count the block as work in flight, for ``drain``."""
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def drain(self, timeout: float | None) -> int:
        """Wait up to ``timeout`` s until no counted work is in flight; how much is still running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._idle.wait(left)
            return self._busy
