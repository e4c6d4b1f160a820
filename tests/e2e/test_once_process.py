"""A handover whose `handover` process was killed between its claim and Slack: posted late, once."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.opsgenie_schedule import Rotation
from app.sandbox.world import CHANNEL, SCHEDULE, TEAM_ZONE, World, write_config
from app.services.cycle import run_cycle
from app.services.handover import run_handover
from app.services.once import IN_FLIGHT
from tests.conftest import RuntimeFactory, environment_for


def config_with_handover_half_an_hour_ago(world: World) -> str:
    """The seeded teams file, with the weekly handover 30 minutes before now (within the grace window)."""
    local = (utc_now() - timedelta(minutes=30)).astimezone(ZoneInfo(TEAM_ZONE))
    when = local.strftime("%a %H:%M").lower()
    return world.config_text.replace('handover = "mon 09:00"', f'handover = "{when}"')


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def handovers(sandbox: Sandbox) -> list[dict[str, object]]:
    return [m for m in sandbox.slack.messages(CHANNEL) if str(m["text"]).startswith("On-call handover")]


def test_a_handover_killed_between_claim_and_post_is_posted_late_exactly_once(
    sandbox: Sandbox, world: World, tmp_path: Path, make_runtime: RuntimeFactory
) -> None:
    config = config_with_handover_half_an_hour_ago(world)
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, config))
    assert cli(env, "sync").returncode == 0  # the cache, through the product's own path
    # The post leaves the process but never reaches Slack; the process is killed while it waits.
    sandbox.slack.lose_answer("chat.postMessage", stall=30, act=False)
    doomed = subprocess.Popen(
        [sys.executable, "-m", "app", "handover"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while not sandbox.slack.requests("chat.postMessage") and time.monotonic() < deadline:
        time.sleep(0.05)
    doomed.kill()
    doomed.wait(timeout=10)
    assert handovers(sandbox) == []

    again = cli(env, "handover")  # right after: the claim may still be posting, and it says so
    assert "== team data: in_progress" in again.stdout, again.stdout + again.stderr
    assert "already_posted" not in again.stdout
    assert handovers(sandbox) == []

    restarted = make_runtime(config)  # a restart once the claim can no longer be in flight
    team = restarted.config.teams[0]
    outcome = run_handover(restarted, team, restarted.now() + IN_FLIGHT + timedelta(seconds=1))
    assert outcome.status == "late"
    [post] = handovers(sandbox)
    assert "Posted late" in str(post["blocks"])

    final = cli(env, "handover")
    assert "== team data: already_posted" in final.stdout
    assert len(handovers(sandbox)) == 1


def test_a_notice_killed_between_claim_and_post_is_said_once_after_the_restart(
    sandbox: Sandbox, world: World, tmp_path: Path, make_runtime: RuntimeFactory
) -> None:
    sandbox.opsgenie.set_rotations(
        SCHEDULE,
        [Rotation(name="empty", participants=[], start=world.rotation_start, length=timedelta(days=7))],
    )
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    sandbox.slack.lose_answer("chat.postMessage", stall=30, act=False)
    doomed = subprocess.Popen(
        [sys.executable, "-m", "app", "sync"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while not sandbox.slack.requests("chat.postMessage") and time.monotonic() < deadline:
        time.sleep(0.05)
    doomed.kill()  # killed while the "nobody is on call" notice was on its way: Slack never got it
    doomed.wait(timeout=10)
    empty = "Slack does not allow an empty user group"

    def said() -> int:
        return len([m for m in sandbox.slack.messages(CHANNEL) if empty in str(m["text"])])

    assert said() == 0
    restarted = make_runtime(world.config_text)
    for minutes in (1, 7, 12):
        run_cycle(restarted, restarted.now() + timedelta(minutes=minutes))
    assert said() == 1
