"""Notice when the SQLite file the bot opened is deleted or replaced under it, and stop the bot.

SQLite keeps writing to a deleted file through the open descriptor: nothing fails, but everything the bot
records from then on (handovers posted, escalations) is lost at the next start, which then posts again.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy.engine import make_url

from app.stopping import Stopping

log = logging.getLogger(__name__)

CHECK_EVERY = 2.0  # seconds; one stat() call


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL, or None (another database, or in memory)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser().absolute()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


class DatabaseFileWatch:
    """A daemon thread comparing the file at ``path`` with the one found at start."""

    def __init__(self, path: Path, stopping: Stopping, every: float = CHECK_EVERY) -> None:
        self.path, self._stopping, self._every = path, stopping, every
        self._identity = _identity(path)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="database-file-watch", daemon=True)

    def start(self) -> DatabaseFileWatch:
        """Start watching."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching."""
        self._done.set()

    def check(self) -> str | None:
        """The sentence to stop with when the file is gone or another one, else None."""
        now = _identity(self.path)
        if now == self._identity:
            return None
        what = "deleted" if now is None else "replaced by another file"
        return (
            f"the database file {self.path} was {what} while the bot was running; the bot stopped so "
            "that nothing it records is lost; restore the file (or start again to begin a new one)"
        )

    def _watch(self) -> None:
        while not self._done.wait(self._every) and not self._stopping.is_set():
            problem = self.check()
            if problem is not None:
                log.error("stopping: %s", problem)
                self._stopping.stop(problem)
                return


def watch_database_file(database_url: str, stopping: Stopping) -> DatabaseFileWatch | None:
    """Start watching the SQLite file of ``database_url``; None for other databases."""
    path = sqlite_path(database_url)
    if path is None or _identity(path) is None:
        return None
    log.debug("watching the database file %s", path)
    return DatabaseFileWatch(path, stopping).start()
