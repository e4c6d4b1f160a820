"""One leader among the replicas sharing a database: only the leader runs the scheduled jobs.

Every replica answers Slack on its own Socket Mode connection and works the page outbox (its rows are
claimed one by one); the jobs that read the pager and write to Slack on a schedule (the refresh and
usergroup sync, handovers, identity checks) run on the leader alone, so that each schedule is read and each
usergroup compared once per refresh interval however many replicas run.

Leadership is one lease row, claimed like every lease (app/store/leases.py) when free or run out, then
renewed by its holder every beat (a third of LEASE_SECONDS) with one UPDATE fenced on its token: the
renewal is the confirmation, so a holder whose lease was taken over learns it at its next beat. A killed
leader stops renewing; another replica takes over within one lease and a beat. A leader that stops gives
its lease back at once. One process on SQLite simply leads from its first beat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.store import repo
from app.store.db import reading
from app.store.leases import LeaseColumns, Leases
from app.store.models import LeaderLease

log = logging.getLogger(__name__)

JOBS = "jobs"  # the one leadership: every scheduled job follows the same leader
COLUMNS = LeaseColumns(LeaderLease.lease_token, LeaderLease.expires_at)


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


class Leadership:
    """Whether this process leads the scheduled jobs, kept true only while its lease is."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        leases: Leases,
        clock: Callable[[], datetime],
        *,
        on_change: Callable[[bool], None] | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.sessions = sessions
        self.leases = leases
        self.clock = clock
        # Called (on the leadership thread) with True when this process becomes the leader, False when not.
        self.on_change = on_change or (lambda _leading: None)
        self._token: str | None = None
        self._valid_until: datetime | None = None
        # True when this process led from its first beat (a lone bot, or the first replica up).
        self.led_from_start = False
        # False until this process takes part in the election (the running bot, or a test's tick): until
        # then nothing decides who leads, and a job run by hand (the CLI, a test) simply runs.
        self.engaged = False
        self._starting = False
        self._gauge = Gauge(
            "oncall_leader", "1 on the replica that runs the scheduled jobs now, else 0.", registry=registry
        )
        self._ticking = threading.Lock()  # the beat and a job re-checking (leading()) take turns
        # The leader's jobs running now, and whether the lease is being given back (no job may start then).
        self._jobs = 0
        self._handing_over = False
        self._jobs_lock = threading.Lock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def is_leader(self) -> bool:
        """True while this process holds the lease and the expiry last read from the database is ahead.

        A process that cannot reach the database keeps leading only until then: by that time a replica
        that can may have taken over.
        """
        with self._lock:
            token, until = self._token, self._valid_until
        return token is not None and until is not None and self.clock() < until

    def holder(self) -> str | None:
        """Who leads now according to the database (host/pid/random), or None when nobody does."""
        with reading(self.sessions) as session:
            row = session.get(LeaderLease, JOBS)
            if row is None or row.expires_at is None or row.expires_at <= self.clock():
                return None
            return row.holder

    def tick(self) -> bool:
        """Claim the lease when it is free, or confirm this process still holds it; whether it leads."""
        self.engaged = True
        with self._ticking:
            now = self.clock()
            try:
                if self._token is None:
                    self._claim(now)
                else:
                    self._confirm(now)
            except SQLAlchemyError as error:
                log.warning("could not reach the leader lease: %s", _first_line(error))
            if self._token is not None and not self.is_leader():
                self._lose("its lease ran out while the database could not be reached")
            return self.is_leader()

    def leading(self) -> bool:
        """Whether to run a leader's job now: is_leader(), re-checked in the database once it lapsed.

        A leader whose last renewal is older than a lease (the process was paused, or the database slow)
        asks again instead of skipping the job; a process that never held the lease does not ask.
        """
        if self.is_leader():
            return True
        return self._token is not None and self.tick()

    @contextmanager
    def running_job(self) -> Iterator[bool]:
        """Count a leader's job run while the block runs; yields False once the lease is being given back."""
        with self._jobs_lock:
            starts = not self._handing_over
            self._jobs += starts
        try:
            yield starts
        finally:
            with self._jobs_lock:
                self._jobs -= starts

    def hand_over(self) -> bool:
        """Give the lease back (``stop``) unless a leader's job still runs; True when it was given back.

        A stop that leaves other work in flight (a page hanging at the pager, a Slack reply held by a rate
        limit) is no reason to keep leading: those run on every replica, under leases of their own. Only a
        scheduled job still running keeps the lease, to run out for whoever leads next.
        """
        with self._jobs_lock:
            if self._jobs:
                return False
            self._handing_over = True
        self.stop()
        return True

    def _claim(self, now: datetime) -> None:
        with self.sessions.begin() as session:
            repo.insert_ignoring_duplicates(session, LeaderLease, {"name": JOBS})
            token = self.leases.claim(session, COLUMNS, now, LeaderLease.name == JOBS)
            if token is None:
                return
            session.execute(
                update(LeaderLease)
                .where(LeaderLease.name == JOBS, LeaderLease.lease_token == token)
                .values(holder=self.leases.holder, since=now)
            )
        with self._lock:
            self._token, self._valid_until = token, self.leases.until(now)
        self.led_from_start = self.led_from_start or self._starting
        self._gauge.set(1)
        log.info("this replica (%s) leads the scheduled jobs now", self.leases.holder)
        self.on_change(True)

    def _confirm(self, now: datetime) -> None:
        # Renewing is confirming: one conditional UPDATE on our token, so a lease that another replica
        # took over can never be renewed, and a leader that was paused past its expiry (a long GC, a VM
        # stop) leads again at once when nobody took over meanwhile.
        until = self.leases.until(now)
        with self.sessions.begin() as session:
            result = session.execute(
                update(LeaderLease)
                .where(LeaderLease.name == JOBS, LeaderLease.lease_token == self._token)
                .values(expires_at=until)
            )
            renewed = bool(getattr(result, "rowcount", 0))
            holder = None
            if not renewed:
                holder = session.scalar(select(LeaderLease.holder).where(LeaderLease.name == JOBS))
        if not renewed:
            self._lose(f"another replica ({holder or 'none'}) took the lease over")
            return
        with self._lock:
            self._valid_until = until

    def _lose(self, why: str) -> None:
        self._gauge.set(0)
        with self._lock:
            self._token = self._valid_until = None
        log.warning("this replica no longer leads the scheduled jobs: %s", why)
        self.on_change(False)

    def take_part(self, on_change: Callable[[bool], None]) -> None:
        """From now on this process's scheduled jobs run only while it leads; ``on_change`` hears changes.

        Called before the scheduler starts, so that no job runs before the first beat settles who leads.
        """
        self.on_change = on_change
        self.engaged = True

    def start(self) -> None:
        """Take the first beat now (a lone process leads before its jobs start), then one every interval."""
        if self._thread is not None:
            return
        self._starting = True
        try:
            self.tick()
        finally:
            self._starting = False
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="leadership", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.leases.interval.total_seconds()):
            try:
                self.tick()
            except Exception:  # a bug here must not end leadership checks for the life of the process
                log.exception("leadership check failed")

    def stop(self) -> None:
        """Stop checking and give the lease back, so that another replica takes over at its next beat."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2)
        token = self._token
        if token is None:
            return
        try:
            with self.sessions.begin() as session:
                session.execute(
                    update(LeaderLease)
                    .where(LeaderLease.name == JOBS, LeaderLease.lease_token == token)
                    .values(lease_token=None, expires_at=None, holder=None, since=None)
                )
        except SQLAlchemyError as error:  # it runs out on its own within one lease
            log.warning("could not give the leader lease back: %s", _first_line(error))
        with self._lock:
            self._token = self._valid_until = None
        self._gauge.set(0)
        log.info("this replica gave the leadership of the scheduled jobs back")
