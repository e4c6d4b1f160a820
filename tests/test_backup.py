"""`oncall-bot backup PATH`: a consistent, complete copy of the SQLite database while it is written."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from app.cli import main
from app.runtime import Runtime
from app.sandbox.world import World
from app.store.models import UsergroupSync
from tests.conftest import RuntimeFactory

pytestmark = pytest.mark.sqlite_file  # `backup` copies the SQLite file (PostgreSQL: pg_dump)


def write_audit_rows(
    runtime: Runtime, committed: list[int], stop: threading.Event, errors: list[str]
) -> None:
    """The bot's own audit rows, one committed transaction each, as fast as SQLite takes them."""
    while not stop.is_set():
        try:
            with runtime.sessions.begin() as session:
                row = UsergroupSync(
                    team="data",
                    usergroup_id="S0DATA00001",
                    at=runtime.now(),
                    before=["U0DAVE00001"],
                    after=["U0CAROL0001"] * 20,
                    result="updated",
                    detail="x" * 200,
                )
                session.add(row)
                session.flush()
                row_id = row.id
            committed.append(row_id)  # only after the commit returned
        except Exception as error:  # the test fails on any writer error, with its text
            errors.append(repr(error))
            return


def ids_in(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [row[0] for row in db.execute("SELECT id FROM usergroup_syncs ORDER BY id")]


def test_backup_under_concurrent_writes_has_every_committed_row(
    world: World, make_runtime: RuntimeFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make_runtime(world.config_text)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/oncall.db")
    committed: list[int] = []
    errors: list[str] = []
    stop = threading.Event()
    writer = threading.Thread(target=write_audit_rows, args=(runtime, committed, stop, errors), daemon=True)
    writer.start()
    try:
        copies = []
        for n in range(3):
            while len(committed) < 300 * (n + 1) and not errors:
                time.sleep(0.01)
            before = list(committed)  # rows committed before this backup started
            target = tmp_path / f"backup-{n}.db"
            assert main(["backup", str(target)]) == 0
            copies.append((target, before))
    finally:
        stop.set()
        writer.join(timeout=10)
    assert errors == []  # the bot's writes never failed or waited out their busy timeout
    for target, before in copies:
        ids = ids_in(target)
        assert set(before) <= set(ids), "a committed row is missing from the backup"
        assert ids == list(range(1, len(ids) + 1)), "the backup is not one consistent snapshot"
        assert not Path(f"{target}-wal").exists()


def test_backup_refuses_to_overwrite_and_explains_postgres(
    world: World,
    make_runtime: RuntimeFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_runtime(world.config_text)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/oncall.db")
    target = tmp_path / "copy.db"
    assert main(["backup", str(target)]) == 0
    assert main(["backup", str(target)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["backup", "--force", str(target)]) == 0

    monkeypatch.setenv("DATABASE_URL", "postgresql://bot@db.internal/oncall")
    assert main(["backup", str(tmp_path / "pg.db")]) == 1
    err = capsys.readouterr().err
    assert "pg_dump" in err
    assert "Traceback" not in err

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/nowhere.db")
    assert main(["backup", str(tmp_path / "x.db")]) == 1
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "nowhere.db").exists()  # a backup never creates the bot's database
