"""One person on call for several teams: the first sync and a dry run on a fresh database fail no team."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.opsgenie import Rotation
from app.sandbox.world import TEAM_ZONE, World, last_handover, write_config
from tests.conftest import environment_for

TEAMS = 6  # more teams than one worker: several cycle threads resolve the same person at once


def _config(world: World, sandbox: Sandbox) -> str:
    start = last_handover(utc_now()) - timedelta(days=14)
    text = world.config_text
    for n in range(1, TEAMS):
        schedule = f"team{n}_schedule"
        rotation = Rotation(
            name="weekly",
            participants=["alice@corp.example", "bob@corp.example", "carol@corp.example"],
            start=start,
            length=timedelta(days=7),
        )
        sandbox.opsgenie.add_schedule(schedule, timezone=TEAM_ZONE, rotations=[rotation])
        sandbox.slack.add_channel(f"C0TEAM{n:05d}", name=f"team-{n}")
        sandbox.slack.add_usergroup(f"S0TEAM{n:05d}", handle=f"team{n}-oncall", users=["U0DAVE00001"])
        text += (
            f'\n[[teams]]\nname = "team{n}"\nschedule = "{schedule}"\nusergroup = "team{n}-oncall"\n'
            f'channel = "C0TEAM{n:05d}"\nhandover = "mon 09:00"\n'
        )
    return text


@pytest.fixture
def env(sandbox: Sandbox, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_path = write_config(tmp_path, _config(world, sandbox))
    for key, value in environment_for(sandbox, tmp_path, config_path).items():
        monkeypatch.setenv(key, value)
    # Slack's answers about the shared person land in the same instant for every team worker.
    sandbox.slack.answer_together("users.lookupByEmail", TEAMS, timeout=1.0)


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("first", [["sync", "--dry-run"], ["sync"]])
def test_first_sync_on_a_fresh_database_fails_no_team(
    first: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(first)
    out = capsys.readouterr().out
    assert "UNIQUE constraint" not in out
    assert f"{TEAMS} team(s), 0 failed" in out
    assert code == 0
