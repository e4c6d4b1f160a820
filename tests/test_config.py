"""A bad configuration stops the program with one clear message (file, team, field) and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.config import ConfigError
from app.config_teams import parse_handover
from app.oncall_config import load_oncall_config, parse_oncall_config

GOOD_TEAM = """
[[teams]]
name = "data"
schedule = "data_team_schedule"
usergroup = "data-oncall"
channel = "C0123456789"
handover = "mon 09:00"
"""

GOOD_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-3",
    "SLACK_APP_TOKEN": "xapp-1-A1-2",
    "OPSGENIE_API_KEY": "genie",
}


def run_check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, **env: str) -> int:
    """Write ``text`` as the teams file and run `oncall-bot check` in-process."""
    path = tmp_path / "oncall.toml"
    path.write_text(text, encoding="utf-8")
    for key, value in {**GOOD_ENV, "ONCALL_CONFIG": str(path), **env}.items():
        monkeypatch.setenv(key, value)
    return main(["check"])


BAD_FILES = [
    pytest.param('timezone = "Europe/Amsterdam"\n[[teams]\nname = "x"', ["not valid TOML"], id="toml-syntax"),
    pytest.param(
        GOOD_TEAM + 'colour = "blue"\n', ["team 'data'", "field 'colour'", "unknown key"], id="unknown-key"
    ),
    pytest.param(
        GOOD_TEAM.replace('schedule = "data_team_schedule"\n', ""),
        ["team 'data'", "field 'schedule'", "missing"],
        id="missing-field",
    ),
    pytest.param(
        GOOD_TEAM + 'timezone = "Mars/Olympus"\n',
        ["team 'data'", "field 'timezone'", "Mars/Olympus"],
        id="unknown-zone",
    ),
    pytest.param(
        'timezone = "Europe/Amsterdma"\n' + GOOD_TEAM,
        ["field 'timezone'", "Europe/Amsterdma"],
        id="unknown-default-zone",
    ),
    pytest.param(
        GOOD_TEAM.replace("mon 09:00", "monday 9am"),
        ["team 'data'", "field 'handover'", "mon 09:00"],
        id="bad-handover-format",
    ),
    pytest.param(
        GOOD_TEAM.replace("mon 09:00", "fun 09:00"),
        ["field 'handover'", "unknown weekday"],
        id="bad-handover-day",
    ),
    pytest.param(
        GOOD_TEAM.replace("mon 09:00", "mon 25:00"),
        ["field 'handover'", "not a time of day"],
        id="bad-handover-hour",
    ),
    pytest.param(
        GOOD_TEAM + GOOD_TEAM.replace("data-oncall", "other-oncall"),
        ["team 'data'", "field 'name'", "already used"],
        id="duplicate-name",
    ),
    pytest.param(
        GOOD_TEAM + GOOD_TEAM.replace('name = "data"', 'name = "infra"'),
        ["team 'infra'", "field 'usergroup'", "already used by team 'data'"],
        id="duplicate-usergroup",
    ),
    pytest.param(
        GOOD_TEAM.replace("C0123456789", "#data-team"), ["field 'channel'", "channel ID"], id="channel-name"
    ),
    pytest.param(GOOD_TEAM + 'escalate = "shout"\n', ["field 'escalate'"], id="bad-escalate"),
    pytest.param("refresh_minutes = 0\n" + GOOD_TEAM, ["field 'refresh_minutes'"], id="bad-refresh"),
    pytest.param('timezone = "UTC"\n', ["field 'teams'", "missing"], id="no-teams"),
    pytest.param(
        GOOD_TEAM + '[people]\n"a@b.example" = "alice"\n',
        ["field 'people'", "Slack user ID"],
        id="bad-people",
    ),
    pytest.param(
        GOOD_TEAM.replace('name = "data"', "name = 5"), ["team #1", "field 'name'"], id="name-not-string"
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_bad_teams_file_exits_2_naming_the_place(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    expected: list[str],
) -> None:
    assert run_check(monkeypatch, tmp_path, text) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "oncall.toml") in err
    for fragment in expected:
        assert fragment in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SLACK_BOT_TOKEN", "xapp-1-A1-2", "SLACK_BOT_TOKEN: must be a bot token starting with xoxb-"),
        ("SLACK_APP_TOKEN", "xoxb-1-2-3", "SLACK_APP_TOKEN: must be an app-level token starting with xapp-"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL"),
    ],
)
def test_token_of_the_wrong_kind_exits_2(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    expected: str,
) -> None:
    assert run_check(monkeypatch, tmp_path, GOOD_TEAM, **{variable: value}) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert value not in err or variable == "LOG_LEVEL"  # a token is never echoed back


def test_missing_token_and_missing_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    monkeypatch.setenv("OPSGENIE_API_KEY", "k")
    assert main(["check"]) == 2
    assert "SLACK_BOT_TOKEN: is not set" in capsys.readouterr().err
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("ONCALL_CONFIG", str(tmp_path / "nope.toml"))
    assert main(["check"]) == 2
    assert "nope.toml: file not found" in capsys.readouterr().err


def test_bad_config_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "oncall.toml"
    path.write_text(GOOD_TEAM + 'timezone = "Nowhere/City"\n', encoding="utf-8")
    env = {**GOOD_ENV, "ONCALL_CONFIG": str(path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "app", "run"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "team 'data', field 'timezone'" in done.stderr
    assert "Traceback" not in done.stderr


def test_env_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\n", encoding="utf-8")
    from app.config import load_settings

    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    monkeypatch.setenv("OPSGENIE_API_KEY", "k")
    settings = load_settings()
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-dotenv"
    assert "xoxb-from-dotenv" not in repr(settings)


def test_good_file_resolves_defaults(tmp_path: Path) -> None:
    path = tmp_path / "oncall.toml"
    path.write_text(
        'timezone = "Europe/Amsterdam"\n' + GOOD_TEAM + '[people]\n"Alice@Corp.Example" = "U0123456789"\n',
        encoding="utf-8",
    )
    config = load_oncall_config(path)
    team = config.teams[0]
    assert (team.timezone, str(team.handover), team.escalate, team.priority) == (
        "Europe/Amsterdam",
        "mon 09:00",
        "tag",
        "P3",
    )
    assert config.people == {"alice@corp.example": "U0123456789"}
    assert config.team("DATA") is team
    assert config.team_for_channel("C0123456789") is team


def test_example_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[1] / "oncall.example.toml"
    config = load_oncall_config(example)
    assert [(t.name, t.provider) for t in config.teams] == [("data", "rotation")]
    # The commented-out Opsgenie team is valid too, once uncommented.
    text = example.read_text(encoding="utf-8")
    both = "\n".join(
        line.removeprefix("# ") if line.startswith(("# [[teams]]", "# name", "# provider", "# schedule",
                                                   "# usergroup", "# channel", "# timezone")) else line
        for line in text.splitlines()
    )  # fmt: skip
    assert [t.provider for t in parse_oncall_config(both, example).teams] == ["rotation", "opsgenie"]


@pytest.mark.parametrize(
    ("text", "weekday", "hour", "minute"),
    [("mon 09:00", 0, 9, 0), ("Sunday 23:59", 6, 23, 59), (" fri 7:05 ", 4, 7, 5)],
)
def test_parse_handover(text: str, weekday: int, hour: int, minute: int) -> None:
    parsed = parse_handover(text)
    assert (parsed.weekday, parsed.hour, parsed.minute) == (weekday, hour, minute)


def test_config_error_is_raised_for_library_callers(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("teams = 3", encoding="utf-8")
    with pytest.raises(ConfigError, match="field 'teams'"):
        load_oncall_config(path)


def test_a_team_without_handover_gets_one_per_shift_with_the_shift_defaults() -> None:
    config = parse_oncall_config(GOOD_TEAM.replace('handover = "mon 09:00"\n', ""), Path("oncall.toml"))
    team = config.teams[0]
    assert (team.handover, team.per_shift, team.fixed_handover) == ("shift", True, None)
    assert (team.handover_min, team.remind_before, team.ack_within) == (
        timedelta(hours=2),
        timedelta(hours=1),
        timedelta(minutes=30),
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [("shift", "shift"), ("OFF", "off"), ("daily 21:30", "daily 21:30"), ("Monday 09:00", "mon 09:00")],
)
def test_every_handover_setting(text: str, shown: str) -> None:
    assert str(parse_handover(text)) == shown


def test_reminders_and_acknowledgements_may_be_switched_off() -> None:
    extra = 'handover_min = "30m"\nremind_before = "off"\nack_within = "Off"\n'
    team = parse_oncall_config(GOOD_TEAM + extra, Path("oncall.toml")).teams[0]
    assert (team.handover_min, team.remind_before, team.ack_within) == (timedelta(minutes=30), None, None)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('handover = "weekly"', ["field 'handover'", "'daily 09:00'", "'off'"]),
        ('handover = "daily 24:00"', ["field 'handover'", "not a time of day"]),
        ('handover_min = "off"', ["field 'handover_min'", "30m"]),
        ('remind_before = "soon"', ["field 'remind_before'", '"off"']),
        ('ack_within = "0m"', ["field 'ack_within'"]),
    ],
)
def test_bad_shift_settings_name_the_field(line: str, words: list[str]) -> None:
    text = GOOD_TEAM.replace('handover = "mon 09:00"', line) if line.startswith("handover =") else GOOD_TEAM
    text += "" if line.startswith("handover =") else line + "\n"
    with pytest.raises(ConfigError) as error:
        parse_oncall_config(text, Path("oncall.toml"))
    for word in words:
        assert word in str(error.value)
