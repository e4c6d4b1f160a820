"""What `run` imports before Slack says hello (settings, teams file, gateway, connection): no store.

`run` opens Socket Mode first and builds the store, the scheduler, the pagers and the Bolt listeners while
the socket is open (app/run.py); a top-level import that pulls one of them into these modules would put
its import time back in front of the hello (bench/ack.py's "start to hello").
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.store.schema_version import heads, sqlite_is_current
from app.store.startup import open_database

# Every module `run` imports before the connection is open (app.cli's own top-level imports included).
EARLY = (
    "app.cli",
    "app.metrics",
    "app.slack.gateway",
    "app.slack.gateway_client",
    "app.slack.socket_mode",
    "app.link",
    "app.store.schema_version",  # run reads a SQLite file's schema version with the standard library
    "app.run",
)
# What is built only once the socket is open.
LATER = (
    "sqlalchemy",
    "apscheduler",
    "slack_bolt",
    "alembic",
    "httpx",
    "app.store",
    "app.services",
    "app.wiring",
    "app.runtime",
    "app.slack.render",
    "app.slack.listeners",
)

# The store's package and the version check are light (no SQLAlchemy): run asks the check first.
ALLOWED = ("app.store", "app.store.schema_version")
# Imports each module in turn in a fresh interpreter; prints, per module, the LATER modules it loaded
# first (the ones an earlier module loaded are that one's).
PROBE = """
import importlib, json, sys
later, allowed = tuple(sys.argv[1].split(",")), tuple(sys.argv[2].split(","))
def heavy():
    return {
        m for m in sys.modules
        if (m in later or m.startswith(tuple(p + "." for p in later))) and m not in allowed
    }
seen, before = {}, heavy()
for name in sys.argv[3:]:
    importlib.import_module(name)
    now = heavy()
    seen[name], before = sorted(now - before), now
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def loaded_by() -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(LATER), ",".join(ALLOWED), *EARLY],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("module", EARLY)
def test_the_modules_run_needs_before_hello_load_no_store_scheduler_pager_or_bolt(
    loaded_by: dict[str, list[str]], module: str
) -> None:
    assert loaded_by[module] == [], f"importing {module} loaded {', '.join(loaded_by[module][:8])}"


def test_only_a_sqlite_file_at_this_schema_is_known_current_before_sqlalchemy(tmp_path: Path) -> None:
    path = tmp_path / "oncall.db"
    url = f"sqlite:///{path}"
    assert not sqlite_is_current(url)  # no file yet: a new database
    open_database(url).dispose()
    assert sqlite_is_current(url)
    assert sqlite_is_current(f"sqlite+pysqlite:///{path}")
    assert not sqlite_is_current(f"{url}?mode=ro")  # options: left to the engine
    assert not sqlite_is_current("sqlite://")
    assert not sqlite_is_current("postgresql+psycopg://oncall@127.0.0.1:5432/oncall")
    with sqlite3.connect(path) as connection:  # one migration behind
        connection.execute("UPDATE alembic_version SET version_num = 'older'")
    assert next(iter(heads())) != "older"
    assert not sqlite_is_current(url)
    (tmp_path / "other.db").write_bytes(b"not a database at all")
    assert not sqlite_is_current(f"sqlite:///{tmp_path / 'other.db'}")
