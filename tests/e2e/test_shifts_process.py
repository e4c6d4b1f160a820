"""The real `python -m app run` process across a shift change, its wall clock moved forward by the test.

tests/e2e/clock moves the process's clock (time-machine, loaded through PYTHONPATH; its sleeps and
timeouts stay real): the test starts it an hour before the first evening shift after the clocks moved
to summer time, then jumps to the change. The process sends the reminder it finds due, posts the
handover at the change, and a "Got it" pressed over Socket Mode shows in the channel post.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.model.buttons import GOT_IT_ACTION
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World, write_config
from app.slack.blocks import message_text
from app.slack.person_notices import DASH
from tests.conftest import environment_for
from tests.services.test_shift_handovers import ALICE, AMSTERDAM, BOB, local, rotation_config, wall
from tests.slack.test_mentions import wait_until

pytestmark = pytest.mark.timeout(300)

CLOCK_HOOK = Path(__file__).parent / "clock"
TURN = local("2027-03-28", 21, AMSTERDAM)  # bob's evening shift, the first after the clocks went forward
TICK = 75  # seconds: the shift job runs every minute (real time), plus a margin for a loaded machine


class ProcessClock:
    """The process's clock: real time plus an offset in a file it follows."""

    def __init__(self, path: Path, start: datetime) -> None:
        self.path = path
        self.offset = float("-inf")
        self.jump(start)

    def jump(self, to: datetime) -> None:
        offset = (to - datetime.now(UTC)).total_seconds()
        assert offset >= self.offset, "the clock only moves forward"
        self.offset = offset
        self.path.write_text(f"{offset:.6f}\n", encoding="utf-8")
        time.sleep(0.1)  # the process polls the file every 20 ms


@pytest.fixture
def process(sandbox: Sandbox, world: World, tmp_path: Path) -> Iterator[ProcessClock]:
    clock = ProcessClock(tmp_path / "clock", TURN - timedelta(minutes=59))
    start = wall(TURN, -timedelta(days=3, hours=12), AMSTERDAM)  # alice, bob, carol from Thursday 09:00
    text = rotation_config(AMSTERDAM, start, "12h", remind="1h")
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, text.replace('"off"\n', '"30m"\n', 2)))
    env.update(PYTHONPATH=str(CLOCK_HOOK), ONCALL_TEST_CLOCK_FILE=str(clock.path))
    log = (tmp_path / "bot.log").open("wb")
    bot = subprocess.Popen([sys.executable, "-m", "app", "run"], env=env, stdout=log, stderr=log)
    try:
        sandbox.slack.socket.wait_connected(timeout=30)
        yield clock
    finally:
        bot.kill()
        bot.wait(timeout=10)


def posts(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [m for m in sandbox.slack.messages(CHANNEL) if str(m["text"]).startswith("On-call handover")]


def test_the_process_reminds_hands_over_at_the_change_and_shows_who_has_it(
    sandbox: Sandbox, process: ProcessClock
) -> None:
    # An hour before the change: the reminder, due a minute ago, is sent at once.
    [reminder] = wait_until(lambda: sandbox.slack.messages(BOB), timeout=TICK)
    assert reminder["text"].startswith("Your data shift starts at 21:00 (in ")
    assert reminder["text"].endswith(" and runs to Mon 09:00 (Europe/Amsterdam).")
    assert posts(sandbox) == []
    process.jump(TURN - timedelta(seconds=3))
    [post] = wait_until(lambda: posts(sandbox), timeout=TICK)
    text = message_text(post)
    assert f"<@{ALICE}> → <@{BOB}>" in text
    assert f"*Shift:* Sun 28 Mar 21:00 {DASH} Mon 29 Mar 09:00 (Europe/Amsterdam)" in text
    [dm] = wait_until(
        lambda: [m for m in sandbox.slack.messages(BOB) if m["text"].startswith("You are on call")]
    )
    sandbox.slack.socket.push_block_action(dm, GOT_IT_ACTION, user=BOB)
    wait_until(lambda: f"\u2713 <@{BOB}> has it" in message_text(posts(sandbox)[0]), timeout=15)
    assert len(posts(sandbox)) == 1
