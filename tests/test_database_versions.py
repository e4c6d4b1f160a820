"""A database this version cannot use: migrate, run and who answer one sentence and exit non-zero."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.cli import main
from app.sandbox import Sandbox
from app.sandbox.world import World, write_config
from app.store.db import make_engine, migrate
from tests.conftest import environment_for

PASSWORD = "s3cret-db-pw"


def _migrated(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()


def newer_revision(path: Path) -> str:
    _migrated(path)
    with sqlite3.connect(path) as connection:  # as left behind by a newer version, after a downgrade
        connection.execute("UPDATE alembic_version SET version_num = '0042_from_the_future'")
    return f"sqlite:///{path}"


def no_version_table(path: Path) -> str:
    _migrated(path)
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE alembic_version")
    return f"sqlite:///{path}"


def garbage_file(path: Path) -> str:
    path.write_bytes(b"this is a spreadsheet, not a database\n" * 200)
    return f"sqlite:///{path}"


def read_only(path: Path) -> str:
    return f"sqlite:///file:{path}?mode=ro&uri=true"  # what SQLite meets on a read-only file system


def postgres_without_driver(_: Path) -> str:
    return f"postgresql://oncall:{PASSWORD}@127.0.0.1:1/oncall"  # and psycopg hidden: see _without_driver


NO_DRIVER = "postgres without driver"
# An interpreter on which `import psycopg` fails, as on an install without the postgres extra.
_HIDE_PSYCOPG = "import sys; sys.modules['psycopg'] = None; from app.cli import main; sys.exit(main(['run']))"


CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "newer revision": (newer_revision, "schema revision 0042_from_the_future, which this version"),
    "no version table": (no_version_table, "no version table"),
    "garbage file": (garbage_file, "not a SQLite database"),
    "read-only": (read_only, "cannot be opened for writing"),
    NO_DRIVER: (postgres_without_driver, "database driver psycopg is not installed"),
}


def _said_once(output: str, said: str) -> None:
    assert "Traceback" not in output
    assert PASSWORD not in output
    sentences = [line for line in output.splitlines() if line.startswith("oncall-bot:")]
    assert len(sentences) == 1, output
    assert said in sentences[0]


@pytest.fixture
def env(sandbox: Sandbox, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    variables = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    return variables


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["migrate", "who"])
def test_migrate_and_who_answer_one_sentence(
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
    command: str,
) -> None:
    make, said = CASES[case]
    monkeypatch.setenv("DATABASE_URL", make(tmp_path / "oncall.db"))
    if case == NO_DRIVER:  # the test extra installs psycopg: take it away as a plain install lacks it
        monkeypatch.setitem(sys.modules, "psycopg", None)
    assert main([command]) != 0
    captured = capsys.readouterr()
    _said_once(captured.out + captured.err, said)


@pytest.mark.parametrize("case", list(CASES))
def test_run_answers_one_sentence(env: dict[str, str], tmp_path: Path, case: str) -> None:
    make, said = CASES[case]
    variables = {**env, "DATABASE_URL": make(tmp_path / "oncall.db")}
    command = ["-c", _HIDE_PSYCOPG] if case == NO_DRIVER else ["-m", "app", "run"]
    done = subprocess.run(
        [sys.executable, *command],
        env=variables,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    _said_once(done.stdout + done.stderr, said)
