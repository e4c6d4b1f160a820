"""Work that follows an event's ack (replies, App Home views) on its own threads, off Bolt's pool.

Bolt runs every listener, the /oncall acks included, on one small thread pool. A mention or an App Home
open that waits on a slow Slack (timeouts, Retry-After sleeps) must not take a thread that a slash command
needs within its 3 seconds, so event listeners hand their work to this pool and return at once.

The work runs in lanes (``app.lanes``), each with its own threads, so that one kind of work cannot starve
another: a burst of App Home opens on a slow Slack fills its own lane only, never a page's.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait

from app.lanes import DEFAULT, MENTIONS, PAGES

log = logging.getLogger(__name__)

WORKERS = 4
LANES: Mapping[str, int] = {DEFAULT: WORKERS, MENTIONS: WORKERS, PAGES: WORKERS}


class Background:
    """A few worker threads per lane for event follow-up work; a failure is logged, never raised."""

    def __init__(self, workers: int = WORKERS, lanes: Mapping[str, int] | None = None) -> None:
        sizes = {**LANES, DEFAULT: workers, **(lanes or {})}
        self._pools = {
            lane: ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"event-{lane}")
            for lane, size in sizes.items()
        }
        self._running: set[Future[None]] = set()
        self._lock = threading.Lock()

    def run(self, name: str, work: Callable[[], object], *, lane: str = DEFAULT) -> Future[None]:
        """Run ``work`` on a worker thread of ``lane``; ``name`` says what it was when it fails."""
        pool = self._pools.get(lane) or self._pools[DEFAULT]
        # The caller's log context (the event id being handled) goes along to the worker thread.
        future = pool.submit(contextvars.copy_context().run, self._guarded, name, work)
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
        """Wait until no work is left, including work handed on meanwhile; True when all of it finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                running = set(self._running)
            if not running:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            wait(running, timeout=left)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Finish the work already handed over (an acked event is not delivered again), then stop.

        With a ``timeout``, wait that long at most; True when every piece of work has finished.
        """
        with self._lock:
            running = set(self._running)
        for pool in self._pools.values():
            pool.shutdown(wait=False)
        _, left = wait(running, timeout=timeout)
        if left:
            log.warning("stopping with %d event(s) still being worked on", len(left))
        return not left
