"""A few worker threads fed by an unbounded queue: every piece of work handed over runs, none is dropped.

The page workers are one (``app.services.page_queue`` says what they do). Built with the runtime, started
with the jobs; until started (the CLI, tests that drive the jobs by hand) ``running`` is False and callers
leave the work to the 15-second job instead.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import timedelta

log = logging.getLogger(__name__)

Work = tuple[str, Callable[[], object]]


class Workers:
    """``count`` daemon threads taking (name, work) from one queue; a failure is logged, never raised."""

    def __init__(self, name: str, count: int) -> None:
        self._name = name
        self._count = count
        self._queue: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """True between ``start`` and ``stop``."""
        with self._lock:
            return bool(self._threads)

    def start(self) -> None:
        """Start the threads (daemons: a stop leaves whatever they hold to its lease)."""
        with self._lock:
            if self._threads:
                return
            for number in range(self._count):
                thread = threading.Thread(target=self._work, name=f"{self._name}-{number}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        """Let every thread end once the work it is on is done; work still queued is not started."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)

    def put(self, name: str, work: Callable[[], object]) -> None:
        """Run ``work`` on a worker as soon as one is free; ``name`` says what it was when it fails."""
        self._queue.put((name, work))

    def later(self, delay: timedelta, name: str, work: Callable[[], object]) -> None:
        """``put`` after ``delay``."""
        timer = threading.Timer(delay.total_seconds(), self.put, args=(name, work))
        timer.daemon = True
        timer.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            name, work = item
            try:
                work()
            except Exception:
                log.exception("%s failed", name)
