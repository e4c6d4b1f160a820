"""Opening the database at start: every way it can be unusable becomes one sentence, never a traceback."""

from __future__ import annotations

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from app.store import schema_version
from app.store.db import MIGRATIONS, READ_ONLY, UnsupportedDatabase, make_engine, migrate
from app.store.models import Base  # from models: with every table registered on it


class DatabaseUnusable(Exception):
    """The database cannot be opened or brought to this schema; ``str()`` says why and what to do."""


def shown_url(database_url: str) -> str:
    """The URL as it may be shown: the password hidden (it may reach a log or a terminal)."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return "DATABASE_URL"


def _known_revisions() -> set[str]:
    from alembic.config import Config  # noqa: PLC0415 - Alembic only when the schema is behind
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def _check_version(engine: Engine, where: str) -> None:
    """Refuse a schema this version did not make: a newer revision, or our tables without a version."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        current = MigrationContext.configure(connection).get_current_heads()
        tables = set(inspect(connection).get_table_names())
    unknown = sorted(set(current) - _known_revisions())
    if unknown:
        raise DatabaseUnusable(
            f"cannot open or upgrade the database at {where}: it is at schema revision {', '.join(unknown)}, "
            "which this version of oncall-bot does not know (a newer version upgraded it); run that "
            "version again, or restore a backup taken before the upgrade"
        )
    if not current and tables & set(Base.metadata.tables):
        raise DatabaseUnusable(
            f"cannot open or upgrade the database at {where}: it holds the bot's tables but no version "
            "table (alembic_version), so it was not made by `oncall-bot migrate`; restore a backup, or "
            "point DATABASE_URL at a new file"
        )


def _why(error: DBAPIError) -> str:
    text = str(error.orig)
    lowered = text.lower()
    if "not a database" in lowered:
        return "the file is not a SQLite database; point DATABASE_URL at the bot's database or a new file"
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return (
            f"it cannot be opened for writing ({text}); the bot needs a writable file and directory "
            "(a read-only file system or missing permission?)"
        )
    return text


def _upgrade(engine: Engine, where: str, prefix: str) -> None:
    """Check the schema's version and migrate it to this version's head."""
    from alembic.util.exc import CommandError  # noqa: PLC0415

    try:
        _check_version(engine, where)
        migrate(engine)
    except CommandError as error:
        raise DatabaseUnusable(f"{prefix}: {error}") from None


def open_database(database_url: str) -> Engine:
    """The engine for ``database_url`` migrated to this schema; DatabaseUnusable when it cannot be."""
    where = shown_url(database_url)
    prefix = f"cannot open or upgrade the database at {where}"
    try:
        engine = make_engine(database_url)
    except ImportError as error:  # the URL names a driver that is not installed (psycopg, MySQLdb, ...)
        raise DatabaseUnusable(
            f"{prefix}: its database driver {error.name or ''} is not installed; for PostgreSQL install "
            "the bot with its postgres extra: pip install 'oncall-bot[postgres]'"
        ) from None
    except UnsupportedDatabase as error:
        raise DatabaseUnusable(f"{prefix}: {error}") from None
    except ArgumentError as error:
        raise DatabaseUnusable(
            f"{prefix}: DATABASE_URL is not a database URL ({error}); e.g. sqlite:///oncall.db"
        ) from None
    except OSError as error:
        raise DatabaseUnusable(f"{prefix}: {error.strerror or error} ({error.filename or where})") from None
    try:
        if not schema_version.is_current(engine):  # Alembic is imported only when there is work for it
            _upgrade(engine, where, prefix)
    except DatabaseUnusable:
        engine.dispose()
        raise
    except DBAPIError as error:
        engine.dispose()
        raise DatabaseUnusable(f"{prefix}: {_why(error)}") from None
    except (SQLAlchemyError, OSError) as error:
        engine.dispose()
        raise DatabaseUnusable(f"{prefix}: {error}") from None
    return engine
