"""Rotation teams in the teams file: what is accepted, else one sentence naming file, team and field."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.config import ConfigError, parse_duration, parse_duration_or_off
from app.domain import RotationLayer, RotationOverride
from app.oncall_config import parse_oncall_config

HEAD = '[[teams]]\nname = "data"\nusergroup = "data-oncall"\nchannel = "C0123456789"\n'
ROTATION = """[teams.rotation]
people = ["Alice@Corp.Example", "U0BOB000001"]
shift = "1w"
start = "2026-11-30 09:00"
"""
OVERRIDE = """[[teams.rotation.overrides]]
person = "carol@corp.example"
start = "2026-12-03 09:00"
end = "2026-12-03 18:00"
"""
PATH = Path("oncall.toml")


def test_a_rotation_table_makes_a_rotation_team_without_schedule_or_provider() -> None:
    second = '[[teams.rotation.layers]]\npeople = ["dave@corp.example"]\nshift = "12h"\n'
    second += "start = 2026-11-30T21:00:00\n"  # a TOML local date-time works as well
    config = parse_oncall_config(
        HEAD + 'timezone = "America/New_York"\n' + ROTATION + second + OVERRIDE, PATH
    )
    [team] = config.teams
    assert (team.provider, team.schedule, team.timezone) == ("rotation", "data", "America/New_York")
    assert team.rotation is not None
    assert team.rotation.layers == (
        RotationLayer(("alice@corp.example", "U0BOB000001"), timedelta(weeks=1), datetime(2026, 11, 30, 9)),
        RotationLayer(("dave@corp.example",), timedelta(hours=12), datetime(2026, 11, 30, 21)),
    )
    assert team.rotation.overrides == (
        RotationOverride("carol@corp.example", datetime(2026, 12, 3, 9), datetime(2026, 12, 3, 18)),
    )


def test_todays_files_stay_opsgenie_teams() -> None:
    [team] = parse_oncall_config(HEAD + 'schedule = "s"\n', PATH).teams
    assert (team.provider, team.schedule, team.rotation) == ("opsgenie", "s", None)
    [explicit] = parse_oncall_config(HEAD + 'provider = "Rotation"\n' + ROTATION, PATH).teams
    assert explicit.provider == "rotation"


BAD = [
    pytest.param(
        HEAD, ["field 'schedule': missing (required unless provider = 'rotation')"], id="no-schedule"
    ),
    pytest.param(
        HEAD + 'provider = "rotation"\n',
        ["provider 'rotation' needs a [teams.rotation] table"],
        id="no-table",
    ),
    pytest.param(
        HEAD + 'provider = "opsgenie"\nschedule = "s"\n' + ROTATION,
        ["field 'rotation': a [teams.rotation] table needs provider = 'rotation', not 'opsgenie'"],
        id="table-on-opsgenie",
    ),
    pytest.param(
        HEAD + 'schedule = "s"\n' + ROTATION,
        ["field 'schedule': a rotation team has no pager schedule"],
        id="both",
    ),
    pytest.param(
        HEAD + 'api_key_env = "KEY"\n' + ROTATION,
        ["field 'api_key_env': a rotation team needs no pager key"],
        id="key-on-rotation",
    ),
    pytest.param(
        HEAD + ROTATION.replace('"U0BOB000001"', '"bob"'),
        ["field 'rotation.people'", "'bob' is neither an email nor a Slack user ID"],
        id="bad-person",
    ),
    pytest.param(
        HEAD + ROTATION.replace('["Alice@Corp.Example", "U0BOB000001"]', "[]"),
        ["field 'rotation.people'"],
        id="nobody",
    ),
    pytest.param(
        HEAD + ROTATION.replace('"1w"', '"1 week"'),
        ["field 'rotation.shift'", "expected a duration like 30m, 12h, 1d or 2w, got '1 week'"],
        id="bad-shift",
    ),
    pytest.param(
        HEAD + ROTATION.replace('"1w"', '"30m"'), ["field 'rotation.shift'", "at least 1h"], id="short-shift"
    ),
    pytest.param(
        HEAD + ROTATION.replace('"1w"', '"0d"'), ["field 'rotation.shift'", "longer than zero"], id="zero"
    ),
    pytest.param(
        HEAD + ROTATION.replace('"2026-11-30 09:00"', '"30/11/2026 9am"'),
        ["field 'rotation.start'", "expected a local date and time like '2026-11-30 09:00'"],
        id="bad-start",
    ),
    pytest.param(
        HEAD + ROTATION.replace('"2026-11-30 09:00"', "2026-11-30T09:00:00Z"),
        ["field 'rotation.start'", "has a UTC offset: write the team's local time"],
        id="offset-start",
    ),
    pytest.param(
        HEAD + ROTATION + 'colour = "blue"\n', ["field 'rotation.colour'", "unknown key"], id="unknown"
    ),
    pytest.param(
        HEAD + ROTATION + OVERRIDE.replace("2026-12-03 18:00", "2026-12-03 08:00"),
        ["field 'rotation.overrides.0'", "must end after its start, not at 2026-12-03 08:00"],
        id="override-backwards",
    ),
    pytest.param(
        HEAD + ROTATION + OVERRIDE.replace('person = "carol@corp.example"\n', ""),
        ["field 'rotation.overrides.0.person'", "missing"],
        id="override-no-person",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_a_bad_rotation_is_one_sentence_naming_file_team_and_field(text: str, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_oncall_config(text, PATH)
    message = str(raised.value)
    assert message.startswith("oncall.toml: team 'data'")
    assert len(message.splitlines()) == 1
    for fragment in expected:
        assert fragment in message


def test_run_refuses_a_bad_rotation_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "oncall.toml"
    path.write_text(HEAD + ROTATION.replace('"1w"', '"weekly"'), encoding="utf-8")
    for key, value in {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "ONCALL_CONFIG": str(path),
    }.items():
        monkeypatch.setenv(key, value)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: team 'data', field 'rotation.shift': expected a duration" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("12h", timedelta(hours=12)),
        ("1d", timedelta(days=1)),
        (" 3d ", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_one_duration_syntax(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value
    assert parse_duration_or_off(text) == value


def test_off_only_where_allowed() -> None:
    assert parse_duration_or_off("off") is None
    assert parse_duration_or_off("OFF") is None
    with pytest.raises(ValueError, match="expected a duration like 30m, 12h, 1d or 2w, got 'off'"):
        parse_duration("off")
    with pytest.raises(ValueError, match=r'or "off", got \'1y\''):
        parse_duration_or_off("1y")
