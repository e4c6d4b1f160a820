"""Whether the database is at this version's schema, told without importing Alembic.

Alembic (and Mako under it) costs ~10 MiB and a few hundred milliseconds at start; it is needed only when
the schema is behind (a new database, an upgrade). The heads come from the migration files themselves,
read as text, so this check cannot drift from what Alembic would say (tests/test_lazy_imports.py).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_ASSIGNED = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


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
    try:
        with engine.connect() as connection:
            current = {
                str(row[0]) for row in connection.execute(text("SELECT version_num FROM alembic_version"))
            }
    except DBAPIError:  # no version table yet: a new database (or not one of ours; Alembic's check says)
        return False
    return current == heads()
