"""`oncall-bot handover --dry-run`: the handover as it would post, then what comes next, with its times."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from app.cli import main
from app.sandbox import Sandbox
from app.sandbox.world import World, write_config
from tests.conftest import environment_for
from tests.services.test_shift_handovers import AMSTERDAM, local, rotation_config, wall

MONDAY = local("2026-04-06", 9, AMSTERDAM)  # a 12-hour rotation: alice, bob at 21:00, carol on Tuesday
BOB_STARTS = MONDAY + timedelta(hours=12)


@pytest.fixture
def env(sandbox: Sandbox, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = rotation_config(AMSTERDAM, wall(MONDAY, -timedelta(days=3), AMSTERDAM), "12h", remind="1h")
    config_path = write_config(tmp_path, text.replace('ack_within = "off"', 'ack_within = "30m"'))
    for key, value in environment_for(sandbox, tmp_path, config_path).items():
        monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("env")
def test_dry_run_lists_the_next_handover_the_reminders_and_the_pending_acknowledgement(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(BOB_STARTS + timedelta(minutes=5), tick=False):
        assert main(["sync"]) == 0
        assert main(["handover"]) == 0  # bob's handover, posted: nobody pressed Got it yet
        capsys.readouterr()
        posts = len(sandbox.slack.requests("chat.postMessage"))
        assert main(["handover", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert len(sandbox.slack.requests("chat.postMessage")) == posts  # a dry run posts nothing
    assert "== team data: already_posted" in out
    assert (
        "next handover: Tue 7 Apr 09:00 (Europe/Amsterdam): u0bob000001 → carol@corp.example "
        "until Tue 7 Apr 21:00"
    ) in out
    assert "reminders:\n  Tue 7 Apr 08:00: U0CAROL0001 for the shift at Tue 7 Apr 09:00\n" in out
    assert (
        "pending acknowledgements: the handover of Mon 6 Apr 21:00\n"
        "  U0BOB000001: no Got it yet; reminder Mon 6 Apr 21:30\n"
        "  the channel hears it: Mon 6 Apr 22:00"
    ) in out
