"""`run` loads only what it runs: Alembic only for a schema behind; never the sandbox, demo or psycopg."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.sandbox import Sandbox
from app.sandbox.world import World, write_config
from app.store import schema_version
from app.store.db import MIGRATIONS
from app.store.startup import open_database
from tests.conftest import environment_for

# What `run` loads on the default database, SQLite (on PostgreSQL it loads its dialect, as it must).
pytestmark = pytest.mark.sqlite_file

# Written by the bot's interpreter at exit (a sitecustomize on PYTHONPATH): every module it had loaded.
DUMP = """
import atexit, os, sys
atexit.register(lambda: open(os.environ["MODULES_DUMP"], "w").write("\\n".join(sorted(sys.modules))))
"""
NEVER = (
    "app.sandbox",
    "app.demo",
    "psycopg",
    "hypothesis",
    "pytest",
    "aiohttp",
)


def run_modules(sandbox: Sandbox, world: World, tmp_path: Path) -> set[str]:
    """Start `python -m app run`, wait for its connection, SIGTERM it; the modules it had loaded."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(DUMP, encoding="utf-8")
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    env |= {"PYTHONPATH": str(tmp_path / "site"), "MODULES_DUMP": str(tmp_path / "modules.txt")}
    known = len(sandbox.slack.socket.connection_ids())
    process = subprocess.Popen([sys.executable, "-m", "app", "run"], env=env)
    try:
        sandbox.slack.socket.wait_connected(count=known + 1, timeout=30)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    return set((tmp_path / "modules.txt").read_text(encoding="utf-8").split())


def loaded(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(f"{package}.") for m in modules)


def test_the_heads_read_from_the_files_are_alembics() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert schema_version.heads() == set(ScriptDirectory.from_config(config).get_heads())


def test_run_on_a_current_schema_never_imports_alembic_the_sandbox_or_the_demo(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    open_database(f"sqlite:///{tmp_path}/oncall.db").dispose()  # migrated: what a restart finds
    modules = run_modules(sandbox, world, tmp_path)
    assert loaded(modules, "app.wiring")  # the dump is of the bot that ran
    assert loaded(modules, "app.slack.socket_mode")
    # Alembic loads every SQLAlchemy dialect; a bot on SQLite has no use for PostgreSQL's.
    for package in ("alembic", "mako", "sqlalchemy.dialects.postgresql", *NEVER):
        assert not loaded(modules, package), package
    # Its one team is on Opsgenie: the other pagers' modules stay unloaded.
    assert loaded(modules, "app.providers.opsgenie")
    for package in ("app.providers.pagerduty", "app.providers.jsm", "app.providers.rotation"):
        assert not loaded(modules, package), package


def test_run_on_a_new_database_migrates_it_with_alembic(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    modules = run_modules(sandbox, world, tmp_path)
    assert loaded(modules, "alembic")  # the schema was behind: Alembic did its work
    for package in NEVER:
        assert not loaded(modules, package), package
