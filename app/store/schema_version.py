"""Whether the database is at this version's schema, told without importing Alembic.

Alembic (and Mako under it) costs ~10 MiB and a few hundred milliseconds at start; it is needed only when
the schema is behind (a new database, an upgrade). The heads come from the migration files themselves,
read as text, so this check cannot drift from what Alembic would say (tests/test_lazy_imports.py).
"""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

# `run` asks ``sqlite_is_current`` before SQLAlchemy is imported (app/run.py): it is loaded by is_current.
if TYPE_CHECKING:
    from sqlalchemy import Engine

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_ASSIGNED = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
# A plain SQLite file URL (no query options, not in memory): what sqlite_is_current can read by itself.
_SQLITE_FILE = re.compile(r"^sqlite(?:\+pysqlite)?:///(?P<path>[^?#]+)$")


def heads() -> set[str]:
    """The head revisions of the migration files: those no other revision builds on."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        found = dict(_ASSIGNED.findall(path.read_text(encoding="utf-8")))
        revisions.add(str(ast.literal_eval(found["revision"])))
        down = ast.literal_eval(found.get("down_revision", "None"))
        parents.update([down] if isinstance(down, str) else list(down or ()))
    return revisions - parents


def is_current(engine: Engine) -> bool:
    """True when the database's alembic_version holds exactly this version's heads."""
    from sqlalchemy import text  # noqa: PLC0415 - see the import note above
    from sqlalchemy.exc import DBAPIError  # noqa: PLC0415

    try:
        with engine.connect() as connection:
            current = {
                str(row[0]) for row in connection.execute(text("SELECT version_num FROM alembic_version"))
            }
    except DBAPIError:  # no version table yet: a new database (or not one of ours; Alembic's check says)
        return False
    return current == heads()


def sqlite_is_current(database_url: str) -> bool:
    """True when ``database_url`` is a SQLite file already at this version's heads; read without SQLAlchemy.

    Read-only, with the standard library's sqlite3. False for anything it cannot tell (a new or missing
    file, a schema behind, another database, a URL with options): the engine's check decides then.
    """
    matched = _SQLITE_FILE.match(database_url)
    if matched is None or matched["path"] == ":memory:" or not Path(matched["path"]).is_file():
        return False
    try:
        connection = sqlite3.connect(f"file:{quote(matched['path'])}?mode=ro", uri=True, timeout=1.0)
        try:
            current = {str(row[0]) for row in connection.execute("SELECT version_num FROM alembic_version")}
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    return current == heads()
