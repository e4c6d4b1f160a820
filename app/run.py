"""`oncall-bot run`: Socket Mode opens first, and the rest of the bot is built while the socket is open.

Slack says hello within a round trip, but the store (SQLAlchemy), the scheduler, the pagers and the Bolt
listeners take most of a second of imports to build. So on a database already at this version's schema
(a restart, the common start) `run` checks the settings, the teams file and the pagers' credentials
(every bad-config sentence still comes before any network call), asks auth.test who the bot is and
opens the connection (``app/link.py``); only then does it import and build the rest (``app/wiring.py``)
and attach the Bolt app. Envelopes that arrive meanwhile wait in their worker (Slack allows 3 s; the
build takes well under one) and get the real answer. When the rest cannot start (an unusable database,
HEALTH_ADDR in use) the connection is closed with nothing acked and `run` fails with the same sentence.

A database that is new, behind, or not a SQLite file the standard library can read (PostgreSQL) is
built first and connected after, as before: a migration may take long, or wait for another replica's,
and meanwhile Slack must send envelopes to replicas that can answer them.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.config import Settings
from app.link import Link, connect_link, open_link
from app.oncall_config import OncallConfig
from app.stopping import Stopping
from app.store.schema_version import sqlite_is_current

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from app.store.dbfile import DatabaseFileWatch
    from app.wiring import RunningBot

# SIGTERM to exit: the platforms' grace period is 30 s (then SIGKILL); the bot is gone well within 10 s.
STOP_WITHIN = 6.0
# How often the start looks whether stopping began while Slack has not answered yet.
_POLL = 0.1
# What a forced exit leaves to the interpreter to print the last sentence and close the logs.
_EXIT_GRACE = 1.0


def run_until_stopped(settings: Settings, config: OncallConfig, stop: threading.Event) -> str | None:
    """Run the bot until ``stop`` is set (by SIGTERM/SIGINT in the CLI); the reason when it stopped itself.

    Never takes much longer than ``STOP_WITHIN`` to return; when threads are still stuck in a pager or
    Slack call then, the process exits shortly after (they would hold the interpreter's exit up).
    """
    stopping = Stopping(stop)
    if sqlite_is_current(settings.database_url):
        started = _connected_first(settings, config, stopping)
    else:
        started = _built_first(settings, config, stopping)
    if started is None:
        log.info("oncall-bot stopped before Slack answered its start")
        return None
    bot, watcher = started
    try:
        stopping.wait()
    finally:
        if watcher is not None:
            watcher.stop()
        finished = bot.stop(timeout=STOP_WITHIN)
        if not finished:
            _exit_soon(1 if stopping.reason else 0)
    return stopping.reason


def _connected_first(
    settings: Settings, config: OncallConfig, stopping: Stopping
) -> tuple[RunningBot, DatabaseFileWatch | None] | None:
    """Open Socket Mode, then import and build the bot and answer on that connection; None: stopped first."""
    link = _unless_stopped(stopping, lambda: open_link(settings, config, stopping))
    if link is None:
        return None
    watcher = None
    try:
        # Imported now, while Slack already holds the connection: they are most of the start's CPU.
        from app.store.dbfile import watch_database_file  # noqa: PLC0415
        from app.wiring import build_runtime, start_bot  # noqa: PLC0415

        runtime = build_runtime(settings, config, stopping=stopping, slack=link.gateway, metrics=link.metrics)
        watcher = watch_database_file(settings.database_url, stopping)
        return start_bot(settings, runtime, link=link), watcher
    except BaseException:
        link.connection.close()  # what waits for the app is left unacked: Slack redelivers events
        if watcher is not None:
            watcher.stop()
        raise


def _unless_stopped(stopping: Stopping, open_it: Callable[[], Link]) -> Link | None:
    """``open_it()`` (``open_link``) on a thread of its own: None as soon as stopping begins, however long
    Slack takes.

    auth.test and apps.connections.open each wait up to 15 s for an answer and the hello up to 10 s, none
    of them on ``stopping``: a SIGTERM then must not wait them out (nor end as "cannot start"). Nothing
    is held yet; a link that opens after all is closed unanswered (Slack redelivers what it sent).
    """
    lock = threading.Lock()
    done = threading.Event()
    outcome: list[Link | BaseException] = []
    abandoned = False

    def opening() -> None:
        try:
            result: Link | BaseException = open_it()
        except BaseException as error:  # handed to the main thread, raised there
            result = error
        with lock:
            outcome.append(result)
            late = abandoned
        done.set()
        if late and isinstance(result, Link):
            result.connection.close()

    threading.Thread(target=opening, name="slack-link", daemon=True).start()
    while not done.wait(_POLL):
        if stopping.is_set():
            with lock:
                if not outcome:
                    abandoned = True
                    return None
    result = outcome[0]
    if isinstance(result, Link):
        return result
    if stopping.is_set() and isinstance(result, Exception):
        # A wait that stopping cut short (a Retry-After) ends in a refusal; it is a stop all the same.
        log.debug("the start was stopped: %s", result)
        return None
    raise result


def _built_first(
    settings: Settings, config: OncallConfig, stopping: Stopping
) -> tuple[RunningBot, DatabaseFileWatch | None] | None:
    """Build the bot (migrating the database), then open Socket Mode and attach the app at once."""
    from app.store.dbfile import watch_database_file  # noqa: PLC0415
    from app.wiring import build_runtime, start_bot  # noqa: PLC0415

    runtime = build_runtime(settings, config, stopping=stopping)
    watcher = watch_database_file(settings.database_url, stopping)
    link = None
    try:
        # Before anything starts (page workers, leases): a refused token or connection leaves none behind.
        link = _unless_stopped(stopping, lambda: connect_link(settings, runtime.slack, runtime.metrics))
        if link is None:
            if watcher is not None:
                watcher.stop()
            runtime.providers.close()
            return None
        return start_bot(settings, runtime, link=link), watcher
    except BaseException:
        if link is not None:
            link.connection.close()
        if watcher is not None:
            watcher.stop()
        raise


def _exit_soon(code: int) -> None:
    """End the process ``_EXIT_GRACE`` s from now, whatever other threads are doing."""

    def exit_now() -> None:
        time.sleep(_EXIT_GRACE)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    threading.Thread(target=exit_now, name="exit", daemon=True).start()
