"""What `run` keeps resident: SQLite's pooled connections and Babel's global table (#18, footprint)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import text

from app.store.db import READ_ONLY, SQLITE_POOL_KEPT, SQLITE_POOL_MAX, make_engine


def test_sqlite_keeps_three_connections_and_still_lends_fifteen_at_once(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/pool.db")
    all_in, release = threading.Barrier(SQLITE_POOL_MAX + 1, timeout=30), threading.Event()
    failures: list[BaseException] = []

    def reader() -> None:
        try:
            with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
                connection.execute(text("SELECT 1")).all()
                all_in.wait()  # every thread holds its own connection at the same moment
                release.wait(30)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=reader) for _ in range(SQLITE_POOL_MAX)]
    for thread in threads:
        thread.start()
    all_in.wait()  # a pool lending fewer than 15 would leave this barrier broken
    assert engine.pool.checkedout() == SQLITE_POOL_MAX  # type: ignore[attr-defined]
    release.set()
    for thread in threads:
        thread.join(30)
    assert failures == []
    # What stays open afterwards (each with its page cache, schema and statements) is three, not five.
    assert engine.pool.checkedin() == SQLITE_POOL_KEPT == 3  # type: ignore[attr-defined]
    engine.dispose()


def test_babel_keeps_only_the_global_data_dates_read_and_answers_the_rest_as_before() -> None:
    probe = """
import babel.core
from datetime import UTC, datetime
from app.i18n import EN, translator
moment = datetime(2026, 12, 7, 9, tzinfo=UTC)
print(translator("ja").day_time(moment), EN.day_time(moment))
print(sorted(babel.core._global_data))
print(babel.core.get_global("zone_aliases")["Asia/Calcutta"], len(babel.core._global_data) > 10)
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out[0] == "12月7日(月) 9:00 Mon 7 Dec 09:00"
    assert out[1] == "['parent_exceptions']"  # not Babel's whole table (2.1 MiB)
    assert out[2] == "Asia/Kolkata True"  # any other key reads the whole table back
