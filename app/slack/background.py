"""Work that follows an event's ack (replies, App Home views) on its own threads, off Bolt's pool.

Bolt runs every listener, the /oncall acks included, on one small thread pool. A mention or an App Home
open that waits on a slow Slack (timeouts, Retry-After sleeps) must not take a thread that a slash command
needs within its 3 seconds, so event listeners hand their work to this pool and return at once.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

log = logging.getLogger(__name__)

WORKERS = 4


class Background:
    """A few worker threads for event follow-up work; a failure is logged, never raised."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="event-work")
        self._running: set[Future[None]] = set()
        self._lock = threading.Lock()

    def run(self, name: str, work: Callable[[], object]) -> Future[None]:
        """Run ``work`` on a worker thread; ``name`` says what it was when it fails."""
        # The caller's log context (the event id being handled) goes along to the worker thread.
        future = self._pool.submit(contextvars.copy_context().run, self._guarded, name, work)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._running.discard(future)

    @staticmethod
    def _guarded(name: str, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:
            log.exception("%s failed", name)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait for the work handed over so far (the pool keeps running); True when all of it finished."""
        with self._lock:
            running = set(self._running)
        _, left = wait(running, timeout=timeout)
        return not left

    def shutdown(self, timeout: float | None = None) -> bool:
        """Finish the work already handed over (an acked event is not delivered again), then stop.

        With a ``timeout``, wait that long at most; True when every piece of work has finished.
        """
        with self._lock:
            running = set(self._running)
        self._pool.shutdown(wait=False)
        _, left = wait(running, timeout=timeout)
        if left:
            log.warning("stopping with %d event(s) still being worked on", len(left))
        return not left
