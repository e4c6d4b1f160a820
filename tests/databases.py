"""The suite's databases: a SQLite file per test, or a fresh PostgreSQL database per test in the PG pass.

`.ci/run` runs the whole suite twice: once as the README says (SQLite), once with
``ONCALL_TEST_DATABASE_URL`` naming a PostgreSQL server (any database on it; the suite creates its own).
In that pass every test gets a database of its own, cloned from a template migrated once per session (a
clone is a file copy: much faster than running the migrations per test), and dropped when the test ends.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

SERVER_ENV = "ONCALL_TEST_DATABASE_URL"


def server_url() -> str | None:
    """The PostgreSQL server of the PG pass, or None in the SQLite pass."""
    return os.environ.get(SERVER_ENV) or None


def _admin(url: URL) -> psycopg.Connection:
    # Imported at load: a test that hides psycopg (no driver installed) still gets its database dropped.
    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
    )


class Databases:
    """Hands each test directory its database URL and drops the PostgreSQL ones afterwards."""

    def __init__(self, server: str | None) -> None:
        self.server = make_url(server).set(drivername="postgresql+psycopg") if server else None
        self._by_directory: dict[Path, str] = {}
        self._created: list[str] = []
        # Databases of module-scoped bots (one process for a module's tests): dropped at the session's end.
        self._lasting: dict[Path, str] = {}
        self._template_ready = False
        # One template per test session: two sessions on one server (a developer's, CI's) never share it.
        self.template = f"oncall_test_template_{os.getpid()}"
        # Set for a test marked ``sqlite_file``: it is about the SQLite file itself, in both passes.
        self.sqlite_only = False

    @property
    def postgres(self) -> bool:
        """True in the PG pass."""
        return self.server is not None

    def url_for(self, directory: Path, *, sqlite: bool = False) -> str:
        """The database URL of ``directory`` (the same one for every caller within a test)."""
        if self.server is None or sqlite or self.sqlite_only:
            return f"sqlite:///{directory}/oncall.db"
        if directory in self._lasting:
            return self._lasting[directory]
        if directory not in self._by_directory:
            self._by_directory[directory] = self.create()
        return self._by_directory[directory]

    def keep(self, directory: Path) -> None:
        """Give ``directory`` a database that outlives each test (a module-scoped bot's), in the PG pass."""
        if self.server is not None and directory not in self._lasting:
            url = self.create()
            self._created.remove(url.rsplit("/", 1)[1])  # not dropped with the test that made it
            self._lasting[directory] = url

    def create(self, *, migrated: bool = True) -> str:
        """A new PostgreSQL database (at the latest schema unless ``migrated`` is False); its URL."""
        assert self.server is not None
        if migrated:
            self._ensure_template()
        name = f"oncall_t_{uuid.uuid4().hex[:16]}"
        template = self.template if migrated else "template0"
        with _admin(self.server) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        self._created.append(name)
        return self.server.set(database=name).render_as_string(hide_password=False)

    def drop_created(self) -> None:
        """Drop this test's databases, whoever is still connected to them (a killed bot's sessions)."""
        self._by_directory.clear()
        if not self._created or self.server is None:
            return
        names, self._created = self._created, []
        with _admin(self.server) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Drop what is left, the template too (at the end of the test session)."""
        self._created.extend(url.rsplit("/", 1)[1] for url in self._lasting.values())
        self._lasting.clear()
        self.drop_created()
        if self._template_ready and self.server is not None:
            with _admin(self.server) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            self._template_ready = False

    def _ensure_template(self) -> None:
        if self._template_ready:
            return
        from app.store.db import make_engine, migrate

        assert self.server is not None
        with _admin(self.server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{self.template}" TEMPLATE template0')
        engine = make_engine(self.server.set(database=self.template).render_as_string(hide_password=False))
        try:
            migrate(engine)
        finally:
            engine.dispose()  # a template with a session open cannot be cloned
        self._template_ready = True


@contextmanager
def writes_held(database_url: str) -> Iterator[None]:
    """Hold the database's write lock from another "process" while the block runs, as a long job would.

    SQLite: BEGIN IMMEDIATE on the file. PostgreSQL: the bot's writer lock (app.store.db.WRITER_LOCK).
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        blocker = sqlite3.connect(str(url.database), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        return
    from app.store.db import WRITER_LOCK

    with _admin(url) as holder:
        holder.execute("BEGIN")
        holder.execute(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")


def query(database_url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    """Rows of ``sql`` (named ``:params``) read from outside the bot, on SQLite or PostgreSQL alike."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()
