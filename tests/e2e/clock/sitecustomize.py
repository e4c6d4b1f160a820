"""Test-only: this Python process's wall clock runs ahead of the real one by what a test's clock file says.

Python loads this module at start-up when, and only when, a test puts this directory on PYTHONPATH and
names the file in ONCALL_TEST_CLOCK_FILE (tests/e2e/test_replicas.py does, for the `python -m app run`
processes it starts): the product has no switch for it and this file is not part of the package. It does
what libfaketime does for a C program, with time-machine: time.time() and datetime.now() are moved, the
monotonic clock (every timeout and sleep) is not. Debian's libfaketime 0.9.10 breaks CPython instead:
time.sleep() fails with EINVAL when the monotonic clock is left alone, and waits never end when it is not.

The file holds one number: seconds to add to the real time. Every process reading the same file agrees on
the time, and a test moves all of them at once (forward only) by writing a larger number.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

POLL_SECONDS = 0.02


def _offset(path: Path, current: float = 0.0) -> float:
    """The file's offset; ``current`` while it cannot be read (never 0: that would send the clock back)."""
    try:
        return float(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return current


def _install(path: Path) -> None:
    import time_machine

    applied = _offset(path)
    real_now = datetime.now(UTC)  # not moved yet
    traveller = time_machine.travel(real_now + timedelta(seconds=applied), tick=True).start()
    time.time()  # time-machine starts ticking at the first read: now, not whenever the app first asks

    def follow() -> None:
        nonlocal applied
        while True:
            wanted = _offset(path, applied)
            if wanted != applied:
                traveller.shift(wanted - applied)
                applied = wanted
            time.sleep(POLL_SECONDS)  # time-machine leaves sleeps (the monotonic clock) alone

    threading.Thread(target=follow, name="test-clock", daemon=True).start()


_FILE = os.environ.get("ONCALL_TEST_CLOCK_FILE")
if _FILE:
    _install(Path(_FILE))
