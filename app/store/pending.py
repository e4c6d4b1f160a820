"""Rows the database would not take (locked past the busy timeout, disk full), kept until it does.

An acked Slack event is never delivered again, so what it asked for must not be dropped because the
database refused one write: the row waits here, in memory, and every flush tries to store it again (a
unique key makes a repeated insert harmless). Only a crash before the database accepts it loses it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.store.base import Base
from app.store.repo import insert_ignoring_duplicates

log = logging.getLogger(__name__)


class PendingInserts:
    """INSERTs waiting for a writable database, oldest first; safe to use from several threads."""

    def __init__(self) -> None:
        self._rows: list[tuple[type[Base], dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()

    def add(self, model: type[Base], values: dict[str, Any]) -> None:
        """Keep one row to insert later."""
        with self._lock:
            self._rows.append((model, dict(values)))

    def waiting(self, model: type[Base]) -> list[dict[str, Any]]:
        """Copies of the rows of ``model`` still waiting."""
        with self._lock:
            return [dict(values) for kind, values in self._rows if kind is model]

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def flush(self, sessions: sessionmaker[Session]) -> int:
        """Store the waiting rows in order until the database refuses one; how many were stored."""
        stored = 0
        with self._flushing:  # one flush at a time keeps the order and never inserts a row twice at once
            while True:
                with self._lock:
                    if not self._rows:
                        return stored
                    model, values = self._rows[0]
                try:
                    with sessions.begin() as session:
                        insert_ignoring_duplicates(session, model, values)
                except IntegrityError as error:  # not a busy or full database: a row it can never take
                    log.error(
                        "a %s row kept in memory cannot be stored; dropping it: %s", model.__name__, error
                    )
                except SQLAlchemyError as error:
                    log.warning("%d row(s) still wait for the database: %s", len(self), error)
                    return stored
                with self._lock:
                    self._rows.pop(0)
                stored += 1
