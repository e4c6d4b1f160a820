"""Moving a team from Opsgenie to JSM on a running database: real `python -m app` processes, restarted.

The team runs on Opsgenie (the group synced, the handover posted), the process stops, the teams file
gets ``provider = "jsm"`` with the same schedule name, and the process starts again. JSM names carol by
account id (she hides her email), which a [people] line maps to her Slack user: her pager identity
changes, she does not. Nothing is posted again: no second handover, no shift-change notice, no
unmapped-person notice; the group is not rewritten; the shift keeps its start in the cache.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.jsm import account_id_for
from app.sandbox.world import CHANNEL, PEOPLE_LINE, USERGROUP_ID, seed, write_config
from tests.conftest import environment_for

CAROL, CAROL_ID = "U0CAROL0001", account_id_for("carol@corp.example")
WAIT = 30.0


def eventually(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until truthy: the bot works in its own process, on its own schedule."""
    deadline = time.monotonic() + WAIT
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {WAIT:.0f} s: {what}"
        time.sleep(0.05)
    return value


def start(env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "app", "run"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, as a deploy does; the process's whole output."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    output = process.stdout.read() if process.stdout else ""
    assert "Traceback" not in output, output
    return output


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "app", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in done.stdout + done.stderr
    return done


def snapshots(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return list(connection.execute("SELECT people, first_seen_at FROM oncall_snapshots ORDER BY id"))


@pytest.mark.sqlite_file  # it reads the snapshots from the SQLite file
def test_an_opsgenie_team_moves_to_jsm_without_a_repeated_post(sandbox: Sandbox, tmp_path: Path) -> None:
    # The handover (carol takes over) was 3 minutes ago.
    world = seed(sandbox, utc_now(), escalate="page", handover_at=utc_now() - timedelta(minutes=3))
    opsgenie = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    database = tmp_path / "oncall.db"

    on_opsgenie = start(opsgenie)
    try:
        sandbox.slack.socket.wait_connected(timeout=30)
        eventually(lambda: sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL], "the sync to carol")
        posted = cli(opsgenie, "handover")
        assert "== team data: posted" in posted.stdout, posted.stdout + posted.stderr
    finally:
        stop(on_opsgenie)
    said = [m["text"] for m in sandbox.slack.messages(CHANNEL)]
    assert len([t for t in said if "On-call handover" in t]) == 1
    writes = len(sandbox.slack.requests("usergroups.users.update"))
    [(people, shift_start)] = snapshots(database)
    assert "carol@corp.example" in people

    # The move: the same schedule name, provider = "jsm", carol's account id mapped to her Slack user.
    moved = world.config_text.replace('escalate = "page"\n', 'escalate = "page"\nprovider = "jsm"\n')
    jsm = environment_for(sandbox, tmp_path, write_config(tmp_path, moved + PEOPLE_LINE))
    assert "JSM_API_TOKEN" in jsm
    lists = len(sandbox.slack.requests("usergroups.list"))
    on_jsm = start(jsm)
    try:
        sandbox.slack.socket.wait_connected(timeout=30)
        eventually(lambda: sandbox.jsm.requests("/on-calls"), "JSM asked who is on call")
        eventually(lambda: len(sandbox.slack.requests("usergroups.list")) > lists, "the first sync on JSM")
        eventually(
            lambda: len(snapshots(database)) == 1 and CAROL_ID in snapshots(database)[0][0], "recorded"
        )
    finally:
        stop(on_jsm)
    # The next cycle reads JSM's timeline (it disagreed with the cached Opsgenie one) and compares.
    synced = cli(jsm, "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert sandbox.jsm.requests("/timeline")
    again = cli(jsm, "handover")
    assert "already_posted" in again.stdout

    assert [m["text"] for m in sandbox.slack.messages(CHANNEL)] == said  # no post at all since the move
    assert len(sandbox.slack.requests("usergroups.users.update")) == writes  # the group was right as it was
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL]
    # One shift, one snapshot: its start (what once-per-shift notices are keyed on) survived the move.
    assert snapshots(database) == [(f'["{CAROL_ID}"]', shift_start)]
    assert sandbox.jsm.alerts() == []
