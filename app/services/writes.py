"""Short write transactions that wait out a locked database a few times before giving up."""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.runtime import Runtime

log = logging.getLogger(__name__)

WRITE_ATTEMPTS = 4  # each attempt already waits SQLite's busy timeout before "database is locked"
WRITE_BACKOFF_SECONDS = 0.2

T = TypeVar("T")


def write_retrying(runtime: Runtime, work: Callable[[Session], T], what: str) -> T:
    """Run ``work`` in its own short write transaction, again (a few times) when the database is locked."""
    for attempt in range(1, WRITE_ATTEMPTS):
        try:
            with runtime.sessions.begin() as session:
                return work(session)
        except OperationalError as error:
            log.warning("%s: %s; trying again (%d/%d)", what, error.orig, attempt, WRITE_ATTEMPTS)
            clock.sleep(WRITE_BACKOFF_SECONDS * attempt)
    with runtime.sessions.begin() as session:
        return work(session)
