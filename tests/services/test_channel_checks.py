"""The scheduled cycle checks each team channel hourly, paced within Slack's Tier 3, never all at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.sandbox import Sandbox
from app.services.channel_checks import ChannelChecks
from app.services.cycle import run_cycle
from tests.conftest import RuntimeFactory
from tests.services.test_resync import TEAMS, seed

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
PER_MINUTE = 5  # Slack's ~50 a minute, scaled down so that the test stays small


class Seconds:
    """A monotonic clock for the pacing window, moved by the test."""

    def __init__(self) -> None:
        self.at = 0.0

    def __call__(self) -> float:
        return self.at


def checked_channels(sandbox: Sandbox) -> list[str]:
    return [r.params["channel"] for r in sandbox.slack.requests("conversations.info")]


def test_every_channel_is_checked_hourly_at_most_per_minute_at_a_time(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(seed(sandbox, NOW - timedelta(days=1)))
    seconds = Seconds()
    checks = ChannelChecks(PER_MINUTE, clock=seconds)
    seen: list[list[str]] = []
    for cycle in range(4):  # 12 teams, 5 a minute: three cycles five minutes apart check them all
        sandbox.slack.clear_requests()
        run_cycle(runtime, NOW + cycle * timedelta(minutes=5), checks=checks)
        seen.append(checked_channels(sandbox))
        seconds.at += 300
    assert [len(channels) for channels in seen] == [PER_MINUTE, PER_MINUTE, TEAMS - 2 * PER_MINUTE, 0]
    assert len({channel for channels in seen for channel in channels}) == TEAMS  # each once, none left out

    sandbox.slack.clear_requests()
    run_cycle(runtime, NOW + timedelta(minutes=61), checks=checks)  # an hour after the first checks
    assert len(checked_channels(sandbox)) == PER_MINUTE


def test_a_one_off_sync_checks_each_channel_whose_timeline_it_read(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(seed(sandbox, NOW - timedelta(days=1)))
    run_cycle(runtime, NOW)
    assert len(checked_channels(sandbox)) == TEAMS


def test_a_channel_the_bot_left_is_told_when_its_paced_check_comes(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(seed(sandbox, NOW - timedelta(days=1)))
    sandbox.slack.add_channel(f"C{TEAMS - 1:09d}", name=f"team-{TEAMS - 1}", bot_is_member=False)
    seconds = Seconds()
    checks = ChannelChecks(PER_MINUTE, clock=seconds)
    failed: list[str] = []
    for cycle in range(3):
        reports = run_cycle(runtime, NOW + cycle * timedelta(minutes=5), checks=checks)
        failed += [r.refresh.team.name for r in reports if r.channel]
        seconds.at += 300
    assert failed == [f"t{TEAMS - 1}"]
