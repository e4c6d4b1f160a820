"""`oncall-bot check` when things are broken: every check still reports one line, exit 1, no traceback."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import checks
from app.cli import main
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, SCHEDULE, USERGROUP_ID, World, teams_toml, write_config
from tests.conftest import environment_for

LINE = re.compile(r"^(ok  |FAIL|note)  [^:]+: \S")
# config, bot token, scopes, Socket Mode, pager key, schedule, user groups, usergroup, channel
ONE_TEAM_CHECKS = 9


def run_check(env: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """Run the real `python -m app check`: exit code, each check's line by name, and stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "app", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, parse(done.stdout), done.stderr


def parse(stdout: str) -> dict[str, str]:
    """The report's check lines by check name; every line before the summary must be one check."""
    body, _, summary = stdout.strip().rpartition("\n\n")
    assert re.fullmatch(r"\d+ ok, \d+ failed(, \d+ note\(s\))?", summary), stdout
    lines = body.splitlines()
    for line in lines:
        assert LINE.match(line), f"not a check line: {line!r}"
    found = {}
    for line in lines:
        name = re.sub(r"^\S+\s+", "", line).split(": ")[0]
        if name.startswith("team "):
            name = ": ".join(re.sub(r"^\S+\s+", "", line).split(": ")[:2])
        found[name] = line
    assert len(found) == len(lines), "two checks share a name"
    return found


def assert_clean(code: int, lines: dict[str, str], stderr: str, *, checks_run: int = ONE_TEAM_CHECKS) -> None:
    assert code == 1
    assert len(lines) == checks_run, lines
    assert "Traceback" not in stderr
    assert stderr.strip() == ""


@pytest.fixture
def env(sandbox: Sandbox, world: World, tmp_path: Path) -> dict[str, str]:
    return environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))


def test_slack_refusing_connections(sandbox: Sandbox, env: dict[str, str]) -> None:
    sandbox.slack.stop()
    code, lines, stderr = run_check(env)
    assert_clean(code, lines, stderr)
    assert "connection refused" in lines["Slack bot token"]
    assert "SLACK_API_URL" in lines["Slack bot token"]
    for name in ("Socket Mode", "user groups", f"team data: channel {CHANNEL}"):
        assert lines[name].startswith("FAIL")
        assert "not checked" in lines[name]
    # the pager's checks are not skipped because Slack is down
    assert lines[f"team data: schedule '{SCHEDULE}'"].startswith("ok")


def test_slack_answering_5xx_names_the_status(sandbox: Sandbox, env: dict[str, str]) -> None:
    sandbox.slack.outage_status = 503
    code, lines, stderr = run_check(env)
    assert_clean(code, lines, stderr)
    for name in ("Slack bot token", "Socket Mode", "user groups"):
        assert "HTTP 503" in lines[name]
    report = "\n".join(lines.values())
    assert "unknown_error" not in report
    assert "paid" not in report


def test_hanging_slack_costs_one_short_timeout(
    sandbox: Sandbox,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text)).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(checks, "CHECK_TIMEOUT", 0.5)
    sandbox.slack.latency = 5  # every Web API call waits far longer than check does
    started = time.monotonic()
    code = main(["check"])
    took = time.monotonic() - started
    out = capsys.readouterr()
    lines = parse(out.out)
    assert_clean(code, lines, out.err)
    assert "no answer within 0.5 s" in lines["Slack bot token"]
    assert "not checked" in lines["Socket Mode"]
    assert lines[f"team data: schedule '{SCHEDULE}'"].startswith("ok")
    assert took < 3, f"check waited {took:.1f} s on a hanging Slack"


def test_wrong_app_token_is_blamed_on_the_app_token(env: dict[str, str]) -> None:
    env["SLACK_APP_TOKEN"] = "xapp-1-wrong"
    code, lines, stderr = run_check(env)
    assert_clean(code, lines, stderr)
    assert lines["Slack bot token"].startswith("ok")
    assert lines["Socket Mode"].startswith("FAIL")
    assert "SLACK_APP_TOKEN" in lines["Socket Mode"]
    assert "SLACK_BOT_TOKEN" not in lines["Socket Mode"]
    assert "xapp-1-wrong" not in "\n".join(lines.values())


def test_admins_only_usergroups_are_found_by_writing_the_members_back(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    sandbox.slack.settings.usergroups_admin_only = True
    before = sandbox.slack.usergroup_members(USERGROUP_ID)
    code, lines, stderr = run_check(env)
    assert_clean(code, lines, stderr)
    line = lines["team data: usergroup @data-oncall"]
    assert line.startswith("FAIL")
    assert "permission_denied" in line
    assert "Workspace settings → Permissions → User Groups" in line
    [write] = sandbox.slack.requests("usergroups.users.update")
    assert write.params["users"].split(",") == before  # the probe asked for no change at all
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == before


def test_editable_usergroup_keeps_its_members(sandbox: Sandbox, env: dict[str, str]) -> None:
    before = sandbox.slack.usergroup_members(USERGROUP_ID)
    code, lines, _ = run_check(env)
    assert code == 0
    assert "editable" in lines["team data: usergroup @data-oncall"]
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == before


def test_private_channel_the_bot_is_not_in_says_invite(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    sandbox.slack.add_channel("C0SECRET001", name="secret", is_private=True, bot_is_member=False)
    text = world.config_text.replace(CHANNEL, "C0SECRET001")
    code, lines, stderr = run_check(environment_for(sandbox, tmp_path, write_config(tmp_path, text)))
    assert_clean(code, lines, stderr)
    line = lines["team data: channel C0SECRET001"]
    assert "channel_not_found" in line
    assert "/invite @oncall-bot" in line


def test_team_scoped_pager_key_reads_its_schedules_and_names_the_one_it_cannot(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    sandbox.opsgenie.team_scoped_key = True  # /v2/account answers 403 for this key
    sandbox.opsgenie.add_schedule("payments_schedule")
    sandbox.opsgenie.deny_schedule("payments_schedule")  # another team's schedule
    sandbox.slack.add_channel("C0PAY000001", name="payments")
    sandbox.slack.add_usergroup("S0PAY000001", handle="payments-oncall", users=["U0BOB000001"])
    text = teams_toml(escalate="page") + (
        '\n[[teams]]\nname = "payments"\nschedule = "payments_schedule"\n'
        'usergroup = "payments-oncall"\nchannel = "C0PAY000001"\n'
    )
    code, lines, stderr = run_check(environment_for(sandbox, tmp_path, write_config(tmp_path, text)))
    # two teams: a schedule, usergroup and channel line each, plus the note about alerts
    assert_clean(code, lines, stderr, checks_run=ONE_TEAM_CHECKS + 3 + 1)
    assert lines["Opsgenie API key"].startswith("ok")
    assert "1 of 2" in lines["Opsgenie API key"]
    assert lines[f"team data: schedule '{SCHEDULE}'"].startswith("ok")
    denied = lines["team payments: schedule 'payments_schedule'"]
    assert denied.startswith("FAIL")
    assert "HTTP 403" in denied
    assert "payments_schedule" in denied
    assert lines["Opsgenie alerts"].startswith("note")
    assert "never pages" in lines["Opsgenie alerts"]
    assert sandbox.opsgenie.requests("/v2/account") == []
    assert sandbox.opsgenie.alerts() == []  # check never raises a real alert
