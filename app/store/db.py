"""Engine, sessions and schema migrations for the cache database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.redaction import redact_value

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 10_000
PAGE_CACHE_KIB = 256
READ_ONLY = "oncall_read_only"  # execution option: this transaction only reads (see reading())


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets /oncall read while a job writes; the busy timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Each pooled connection keeps its own page cache (SQLite's default: up to 2 MiB). Threads taking
    # turns over the pool filled one per connection: +16 MiB RSS over 1,000 /oncall (bench/ack.py);
    # for pages the OS caches anyway. The hot reads touch a few index pages each.
    cursor.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
    cursor.close()
    # pysqlite's own transaction handling sends no BEGIN before the first INSERT/UPDATE, so the reads of
    # a `sessions.begin()` block saw other threads' commits and get-then-insert raced. With the driver's
    # handling off, SQLAlchemy's "begin" event below emits the BEGIN (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN, waiting the busy timeout for it: a transaction that reads
    # and then writes can neither see a changing database nor fail on upgrading a stale read snapshot
    # (WAL's SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out). Readers ask for a deferred BEGIN:
    # in WAL they never take, nor wait for, the write lock.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _redact_parameters(
    conn: Connection, _cursor: Any, statement: str, parameters: Any, _context: Any, _executemany: bool
) -> tuple[str, Any]:
    # Every value bound to every statement that may write: no error text, notice or reason can store a
    # secret. A read-only transaction (reading()) stores nothing: /oncall's reads skip the walk.
    if conn.get_execution_options().get(READ_ONLY, False):
        return statement, parameters
    return statement, redact_value(parameters)


def make_engine(database_url: str) -> Engine:
    """Create the engine; for SQLite, with WAL, foreign keys and a busy timeout on every connection."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "before_cursor_execute", _redact_parameters, retval=True)
        return engine
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "before_cursor_execute", _redact_parameters, retval=True)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` with Alembic, keeping existing data."""
    # Imported here: a bot whose schema is current never loads Alembic (startup.py asks schema_version).
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker whose objects stay readable after commit (services return plain values anyway)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def reading(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction that only reads: one consistent snapshot, never waiting for SQLite's write lock."""
    with sessions.begin() as session:
        session.connection(execution_options={READ_ONLY: True})
        yield session
