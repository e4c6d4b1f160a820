"""`oncall-bot check` against the sandbox: all ok, and each kind of problem reported with a hint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.checks import run_checks
from app.cli import main
from app.oncall_config import load_oncall_config
from app.sandbox import Sandbox
from app.sandbox.world import World, write_config
from tests.conftest import environment_for, settings_for


def checks(sandbox: Sandbox, tmp_path: Path, config_text: str) -> dict[str, tuple[bool, str]]:
    config_path = write_config(tmp_path, config_text)
    results = run_checks(settings_for(sandbox, tmp_path, config_path), load_oncall_config(config_path))
    return {r.name: (r.ok, r.line()) for r in results}


def test_all_checks_pass_in_a_real_process(sandbox: Sandbox, world: World, tmp_path: Path) -> None:
    config_path = write_config(tmp_path, world.config_text)
    done = subprocess.run(
        [sys.executable, "-m", "app", "check"],
        env=environment_for(sandbox, tmp_path, config_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout
    for name in (
        "Slack bot token",
        "Slack scopes",
        "Socket Mode",
        "Opsgenie API key",
        "team data: schedule 'data_team_schedule'",
        "team data: usergroup @data-oncall",
        "team data: channel C0DATA00001",
    ):
        assert f"ok    {name}" in done.stdout


def test_missing_scope_is_named_and_check_exits_1(
    sandbox: Sandbox, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.slack.set_scopes(["commands", "chat:write", "users:read"])
    config_path = write_config(tmp_path, world.config_text)
    for key, value in environment_for(sandbox, tmp_path, config_path).items():
        monkeypatch.setenv(key, value)
    assert main(["check"]) == 1
    found = checks(sandbox, tmp_path, world.config_text)
    ok, line = found["Slack scopes"]
    assert not ok
    assert "usergroups:write" in line
    assert "reinstall" in line


def test_bad_bot_token_is_reported(sandbox: Sandbox, world: World, tmp_path: Path) -> None:
    config_path = write_config(tmp_path, world.config_text)
    settings = settings_for(sandbox, tmp_path, config_path).model_copy(
        update={"slack_bot_token": SecretStr("xoxb-wrong")}
    )
    results = {r.name: r for r in run_checks(settings, load_oncall_config(config_path))}
    assert not results["Slack bot token"].ok
    assert "invalid_auth" in results["Slack bot token"].detail


def test_unknown_usergroup_and_channel_and_schedule(sandbox: Sandbox, world: World, tmp_path: Path) -> None:
    text = (
        world.config_text.replace("data-oncall", "ghost-group")
        .replace("C0DATA00001", "C0GHOST0001")
        .replace("data_team_schedule", "ghost_schedule")
    )
    found = checks(sandbox, tmp_path, text)
    assert found["team data: usergroup @ghost-group"][0] is False
    assert "not found" in found["team data: usergroup @ghost-group"][1]
    assert found["team data: channel C0GHOST0001"][0] is False
    assert "channel_not_found" in found["team data: channel C0GHOST0001"][1]
    assert found["team data: schedule 'ghost_schedule'"][0] is False


def test_bot_not_in_channel_and_bad_pager_key(sandbox: Sandbox, world: World, tmp_path: Path) -> None:
    sandbox.slack.add_channel("C0LONELY001", name="lonely", bot_is_member=False)
    sandbox.opsgenie.api_key = "another-key"
    found = checks(sandbox, tmp_path, world.config_text.replace("C0DATA00001", "C0LONELY001"))
    assert "/invite @oncall-bot" in found["team data: channel C0LONELY001"][1]
    assert found["Opsgenie API key"][0] is False
    assert "rejected the API key" in found["Opsgenie API key"][1]


@pytest.mark.parametrize("setting", ["paid_plan"])
def test_free_plan_is_explained(sandbox: Sandbox, world: World, tmp_path: Path, setting: str) -> None:
    setattr(sandbox.slack.settings, setting, False)
    found = checks(sandbox, tmp_path, world.config_text)
    assert "paid" in found["user groups"][1]


def test_an_install_without_the_history_scopes_is_told_to_re_approve(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    history = {"channels:history", "groups:history", "im:history"}
    sandbox.slack.set_scopes([s for s in sandbox.slack.scopes if s not in history])  # an older install
    ok, line = checks(sandbox, tmp_path, world.config_text)["Slack scopes"]
    assert not ok
    assert "channels:history, groups:history, im:history" in line
    assert "reinstall" in line
