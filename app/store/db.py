"""Engine, sessions and schema migrations for the cache database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from app.redaction import redact_value

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 10_000
PAGE_CACHE_KIB = 256
# SQLite connections the pool keeps open between uses, and how many more it may open at once (the
# same 15 as SQLAlchemy's default 5 + 10: no thread waits for a connection sooner than before).
SQLITE_POOL_KEPT = 3
SQLITE_POOL_MAX = 15
IDLE_IN_TX_MS = 60_000
# pg_advisory_xact_lock key of the one-writer-at-a-time lock (any constant; this one spells "oncall").
WRITER_LOCK = 0x6F6E63616C6C
READ_ONLY = "oncall_read_only"  # execution option: this transaction only reads (see reading())


class UnsupportedDatabase(ArgumentError):
    """DATABASE_URL names a database other than SQLite and PostgreSQL."""


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


def _postgres_begin(connection: Connection) -> None:
    # The services were written for SQLite's one writer at a time (BEGIN IMMEDIATE above): a transaction
    # that reads and then writes sees no other writer's commit in between. PostgreSQL gives writers the
    # same guarantee with one transaction-scoped advisory lock, across every replica sharing the database;
    # it ends with the transaction (a killed replica's with its connection). The bot writes a few small
    # rows a second at most, so one writer at a time costs nothing, and no read-modify-write in any service
    # can interleave with another replica's. Readers take a snapshot instead (REPEATABLE READ: every
    # statement of a reading() block sees the same commits, as SQLite's deferred BEGIN gives them).
    if connection.get_execution_options().get(READ_ONLY, False):
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    else:
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")


def postgres_url(url: URL) -> URL:
    """``postgres://`` and ``postgresql://`` mean psycopg 3, the driver of the ``postgres`` extra."""
    if url.drivername in {"postgres", "postgresql"}:
        return url.set(drivername="postgresql+psycopg")
    return url


def _postgres_session(dbapi_connection: Any, _record: Any) -> None:
    # Waits end like SQLite's busy timeout (a writer queued behind the lock fails after 10 s instead of
    # hanging), and a transaction left open by a frozen or cut-off replica cannot hold the writer lock for
    # ever. SET rather than the `options` startup parameter, which PgBouncer refuses.
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute(f"SET idle_in_transaction_session_timeout = {IDLE_IN_TX_MS}")
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()


def _postgres_engine(url: URL) -> Engine:
    engine = create_engine(
        url,
        pool_pre_ping=True,  # a connection the server closed (restart, failover) is replaced, not used
        connect_args={
            "connect_timeout": 10,
            # A vanished server or replica is noticed within about a minute, not the kernel's two hours.
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
            "application_name": "oncall-bot",
        },
    )
    event.listen(engine, "connect", _postgres_session)
    event.listen(engine, "before_cursor_execute", _redact_parameters, retval=True)
    event.listen(engine, "begin", _postgres_begin)
    return engine


def make_engine(database_url: str) -> Engine:
    """Create the engine: SQLite with WAL, a busy timeout and BEGIN IMMEDIATE; PostgreSQL with psycopg 3.

    Any other database is refused (DatabaseUnusable's sentence in startup.py): the migrations and the
    once-only writes (INSERT ... ON CONFLICT) are written and tested for these two.
    """
    url = postgres_url(make_url(database_url))
    backend = url.get_backend_name()
    if backend == "postgresql":
        return _postgres_engine(url)
    if backend != "sqlite":
        raise UnsupportedDatabase(
            f"{backend} is not supported: use sqlite:///PATH or postgresql+psycopg://..."
        )
    pool: dict[str, int] = {}
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Each kept connection holds its page cache, schema and statement cache (~350 KiB by
        # sqlite3_memory_used after 1,000 /oncall): SQLAlchemy's default keeps five. An ack, a job and a
        # heartbeat rarely use more than three at once; one opened beyond them is closed when returned
        # (opening one, pragmas and schema read included, took ~2.5 ms at load 7: too dear to keep two).
        pool = {"pool_size": SQLITE_POOL_KEPT, "max_overflow": SQLITE_POOL_MAX - SQLITE_POOL_KEPT}
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}, **pool
    )
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
