"""`oncall-bot sync` and `oncall-bot who`: what a person at a terminal sees, and the exit codes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from app.cli import main
from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import USERGROUP_ID, World, write_config
from tests.conftest import environment_for


@pytest.fixture
def env(sandbox: Sandbox, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_path = write_config(tmp_path, world.config_text)
    for key, value in environment_for(sandbox, tmp_path, config_path).items():
        monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("env")
def test_dry_run_then_sync_then_who(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["who"]) == 1  # nothing cached yet
    assert "no data yet" in capsys.readouterr().out

    assert main(["sync", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing is written to Slack" in out
    assert "would update the group" in out
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == ["U0DAVE00001"]

    assert main(["sync", "--team", "DATA"]) == 0
    out = capsys.readouterr().out
    assert "on call:  carol@corp.example" in out
    assert "before:   U0DAVE00001" in out
    assert "after:    U0CAROL0001" in out
    assert "action:   updated the group" in out
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == ["U0CAROL0001"]

    assert main(["who", "data"]) == 0
    assert "data: carol@corp.example (as of" in capsys.readouterr().out


@pytest.mark.usefixtures("env")
def test_a_failing_team_exits_1_with_the_reason(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync"]) == 0
    sandbox.opsgenie.api_key = "revoked"
    assert main(["sync"]) == 1
    out = capsys.readouterr().out
    assert "pager:    FAILED: Opsgenie rejected the API key" in out
    assert "1 team(s), 1 failed" in out
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == ["U0CAROL0001"]
    # One failed cycle is a blip: `who` says so but the data is not stale yet.
    assert main(["who"]) == 0
    assert "the last refresh failed, retrying: Opsgenie rejected the API key" in capsys.readouterr().out


@pytest.mark.usefixtures("env")
def test_unknown_team_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "--team", "nope"]) == 2
    assert "no team named 'nope' (teams: data)" in capsys.readouterr().err


@pytest.mark.usefixtures("env")
def test_who_calls_the_data_stale_after_two_failed_cycles_and_two_intervals(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    start = utc_now()
    with time_machine.travel(start, tick=False) as clock:
        assert main(["sync"]) == 0
        sandbox.opsgenie.api_key = "revoked"  # fails at once: no retries to wait for
        for _ in range(3):  # refresh_minutes = 5: +5, +10, +15
            clock.shift(timedelta(minutes=5))
            assert main(["sync"]) == 1
        capsys.readouterr()
        assert main(["who"]) == 1
    out = capsys.readouterr().out
    assert "data: carol@corp.example (as of 15 min ago); STALE: pager failing since 10 min ago" in out
