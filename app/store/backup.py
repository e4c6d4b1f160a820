"""`oncall-bot backup PATH`: a consistent copy of the SQLite database, taken while the bot runs.

A plain ``cp`` of a WAL database misses what is still in the ``-wal`` file (and may copy a page half
written); SQLite's online backup API copies a consistent snapshot through SQLite itself instead.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from app.store.db import BUSY_TIMEOUT_MS


class BackupError(Exception):
    """The backup cannot be made; ``str()`` says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """Where the copy went, its size in pages, and SQLite's integrity verdict on it."""

    path: Path
    pages: int
    integrity: str


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite URL; BackupError for other databases (with what to use for them)."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        raise BackupError(
            "DATABASE_URL is a PostgreSQL database: back it up with pg_dump "
            "(e.g. pg_dump --format=custom --file=oncall.dump DBNAME) and restore with pg_restore"
        )
    if backend != "sqlite":
        raise BackupError(f"DATABASE_URL is a {backend} database: use that database's own backup tool")
    if not url.database or url.database == ":memory:":
        raise BackupError("DATABASE_URL is an in-memory SQLite database: there is nothing on disk to copy")
    return Path(url.database).expanduser()


def backup(database_url: str, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the database at ``database_url`` to ``target`` in one consistent step, then check the copy."""
    source = sqlite_path(database_url)
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (check DATABASE_URL)")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} already exists: choose another name, or pass --force to replace it")
    if target.resolve() == source.resolve():
        raise BackupError("the backup cannot replace the database itself: choose another path")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        pages, integrity = _copy(source, partial)
        if integrity != "ok":
            raise BackupError(f"the copy failed SQLite's integrity check ({integrity}); nothing was written")
        os.replace(partial, target)  # the name appears only once the copy is whole
    except sqlite3.Error as error:
        raise BackupError(f"cannot back up {source}: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, pages, integrity)


def _copy(source: Path, target: Path) -> tuple[int, str]:
    # Read-only: a backup never creates or changes the bot's database. With the WAL journal, one
    # backup step reads a snapshot while the bot keeps writing (readers do not block writers).
    reader = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer, pages=-1)
        # A rollback journal, not WAL: the copy stays one file whoever opens it (the bot turns WAL on).
        writer.execute("PRAGMA journal_mode=DELETE")
        pages = int(writer.execute("PRAGMA page_count").fetchone()[0])
        integrity = str(writer.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        writer.close()
        reader.close()
    return pages, integrity
