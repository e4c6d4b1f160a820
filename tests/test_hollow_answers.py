"""A Slack answer {"ok": true} without what the method promises is a bad response with a sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.sandbox import Sandbox
from app.sandbox.world import World, write_config
from tests.conftest import environment_for


@pytest.fixture
def env(sandbox: Sandbox, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_path = write_config(tmp_path, world.config_text)
    for key, value in environment_for(sandbox, tmp_path, config_path).items():
        monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("method", "key"), [("usergroups.list", "usergroups"), ("users.lookupByEmail", "user")]
)
def test_sync_says_a_hollow_answer_is_a_bad_response(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], method: str, key: str
) -> None:
    sandbox.slack.hollow(method, times=100)
    assert main(["sync"]) == 1
    captured = capsys.readouterr()
    assert f"{method}: Slack answered ok but without the {key}" in captured.out
    assert "1 team(s), 1 failed" in captured.out
    assert "Traceback" not in captured.out + captured.err


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("method", "check"),
    [
        ("auth.test", "Slack bot token"),
        ("apps.connections.open", "Socket Mode"),
        ("usergroups.list", "user groups"),
        ("conversations.info", "team data: channel C0DATA00001"),
    ],
)
def test_check_says_a_hollow_answer_is_a_bad_response(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], method: str, check: str
) -> None:
    sandbox.slack.hollow(method, times=100)
    assert main(["check"]) == 1
    captured = capsys.readouterr()
    [line] = [line for line in captured.out.splitlines() if line.startswith(f"FAIL  {check}:")]
    assert "Slack answered ok but without the" in line
    assert "(bad_response)" in line
    assert "Traceback" not in captured.out + captured.err
