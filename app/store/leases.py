"""Short leases renewed by a heartbeat: work held by a process that died is free again within one lease.

A worker claims a row (an escalation, later a named job) by storing a fresh token and an expiry on it in one
conditional UPDATE, and fences every later write on that token. While the worker's code runs inside
``Leases.holding``, this process's heartbeat thread renews the expiry every ``interval``; a process that is
killed stops renewing, so its rows are free again ``duration`` after its last beat — on this host or any
other replica sharing the database. A worker that returns (or raises) stops being renewed at once, so a
lease can never leak for the life of the process.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

log = logging.getLogger(__name__)

DEFAULT_DURATION = timedelta(seconds=30)


@dataclass(frozen=True, eq=False, slots=True)  # compared by identity: one constant per kind of lease
class LeaseColumns:
    """Where one kind of lease lives: the token column and the expiry column of a table."""

    token: InstrumentedAttribute[Any]
    expires: InstrumentedAttribute[Any]

    def free(self, now: datetime) -> ColumnElement[bool]:
        """SQL: the row is not held by anyone whose lease is still running at ``now``."""
        return or_(self.token.is_(None), self.expires.is_(None), self.expires <= now)


def holder_id() -> str:
    """This process's name in logs and lease records: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


class Leases:
    """This process's leases: their length, the tokens held now, and the heartbeat that renews them."""

    def __init__(self, duration: timedelta = DEFAULT_DURATION, interval: timedelta | None = None) -> None:
        self.holder = holder_id()
        self.duration = duration
        # Three beats per lease: one lost write (a busy database) does not lose the lease.
        self.interval = interval or duration / 3
        # token → (columns, holders): a lease lent to a second worker (the page worker beside the listener
        # replying) is renewed until the last of its holders lets go.
        self._held: dict[str, tuple[LeaseColumns, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def new_token() -> str:
        """A fresh token for one claim (32 hex characters)."""
        return uuid.uuid4().hex

    def until(self, now: datetime) -> datetime:
        """When a lease taken or renewed at ``now`` runs out."""
        return now + self.duration

    def claim(
        self, session: Session, columns: LeaseColumns, now: datetime, *where: ColumnElement[bool]
    ) -> str | None:
        """Take the row matching ``where`` unless a running lease holds it; its new token, or None.

        Call it inside ``session.begin()``; hold the token with ``holding`` while working on the row.
        """
        token = self.new_token()
        table = columns.token.class_
        result = session.execute(
            update(table)
            .where(*where, columns.free(now))
            .values({columns.token: token, columns.expires: self.until(now)})
        )
        return token if getattr(result, "rowcount", 0) else None

    @contextmanager
    def holding(self, columns: LeaseColumns, token: str) -> Iterator[None]:
        """Keep renewing the lease ``token`` while the block runs; stop renewing it when it ends."""
        self.hold(columns, token)
        try:
            yield
        finally:
            self.let_go(token)

    def hold(self, columns: LeaseColumns, token: str) -> None:
        """Renew ``token`` until as many ``let_go`` calls as ``hold`` calls (one per holder, any thread)."""
        with self._lock:
            _, holders = self._held.get(token, (columns, 0))
            self._held[token] = (columns, holders + 1)

    def let_go(self, token: str) -> None:
        """One holder of ``token`` is done; the last one stops its renewal."""
        with self._lock:
            columns, holders = self._held.get(token, (None, 0))
            if columns is not None and holders > 1:
                self._held[token] = (columns, holders - 1)
            else:
                self._held.pop(token, None)

    def held(self) -> int:
        """How many leases this process renews now."""
        with self._lock:
            return len(self._held)

    def renew(self, sessions: sessionmaker[Session], now: datetime) -> int:
        """Push every held lease's expiry to ``now + duration``; how many rows were still ours."""
        with self._lock:
            held = dict(self._held)
        if not held:
            return 0
        by_columns: dict[LeaseColumns, list[str]] = {}
        for token, (columns, _) in held.items():
            by_columns.setdefault(columns, []).append(token)
        renewed = 0
        with sessions.begin() as session:
            for columns, tokens in by_columns.items():
                table = columns.token.class_
                result = session.execute(
                    update(table).where(columns.token.in_(tokens)).values({columns.expires: self.until(now)})
                )
                renewed += int(getattr(result, "rowcount", 0) or 0)
        return renewed

    def start(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        """Start the heartbeat thread (a daemon: it never holds the process up)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._beat, args=(sessions, clock), name="lease-heartbeat", daemon=True
        )
        self._thread.start()
        log.info("leases held as %s: %s, renewed every %s", self.holder, self.duration, self.interval)

    def stop(self) -> None:
        """Stop renewing: whatever is still held runs out within one lease, for a successor to take."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=1)

    def _beat(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        while not self._stop.wait(self.interval.total_seconds()):
            try:
                self.renew(sessions, clock())
            except SQLAlchemyError as error:
                # The workers' own writes are fenced on their tokens: a lease lost here only means a
                # successor may take the work over, never that two write it.
                log.warning("could not renew %d lease(s): %s", self.held(), error)
