"""A blip is a log line; the channel hears only when the data is really going stale, and so does /oncall."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, USERGROUP_ID, World
from app.services import oncall_view
from app.services.cycle import run_cycle
from app.slack.oncall_blocks import freshness_line
from app.store.db import reading
from tests.conftest import RuntimeFactory

CAROL, DAVE = "U0CAROL0001", "U0DAVE00001"
PER_MINUTE = {"X-RateLimit-Period-In-Sec": "60"}  # too long to wait for inside a cycle: the cycle fails


@pytest.fixture
def runtime(world: World, make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime(world.config_text)  # refresh_minutes = 5


def notices(sandbox: Sandbox) -> list[str]:
    return [m["text"] for m in sandbox.slack.messages(CHANNEL)]


def test_one_throttled_answer_is_a_log_line_and_the_sync_still_happens(
    sandbox: Sandbox, world: World, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    now = world.rotation_start + timedelta(days=15)  # carol's week
    run_cycle(runtime, now)
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL]
    sandbox.slack.add_usergroup(USERGROUP_ID, handle="data-oncall", users=[DAVE])  # someone edited it
    sandbox.opsgenie.fail(429, headers=PER_MINUTE)
    with caplog.at_level(logging.WARNING):
        [report] = run_cycle(runtime, now + timedelta(minutes=5))
    assert not report.refresh.ok
    assert "rate limiting" in caplog.text  # the blip is logged...
    assert notices(sandbox) == []  # ...and not told to the channel
    assert report.sync.action == "updated"  # the cycle's sync was not skipped
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL]
    with reading(runtime.sessions) as session:
        [team_now] = oncall_view.on_call_now(session, runtime.config, runtime.config.teams, now)
    assert team_now.freshness.failing_since is None
    line = freshness_line(team_now.freshness, "UTC", now + timedelta(minutes=6), "Opsgenie")
    assert ":warning:" not in line
    assert "unreachable" not in line

    [report] = run_cycle(runtime, now + timedelta(minutes=10))
    assert report.refresh.ok
    assert notices(sandbox) == []  # no "answers again" for an outage nobody was told about


def test_a_throttled_answer_with_a_short_window_is_retried_within_the_cycle(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    now = world.rotation_start + timedelta(days=15)
    sandbox.opsgenie.fail(429)  # a one-second window: worth waiting for
    [report] = run_cycle(runtime, now)
    assert report.refresh.ok
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL]
    assert notices(sandbox) == []


def test_two_failed_cycles_and_data_older_than_two_intervals_say_it_once_then_recovery_once(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    start = world.rotation_start + timedelta(days=15)
    run_cycle(runtime, start)
    sandbox.opsgenie.down = True
    told = []
    for minutes in (5, 10, 15, 20):
        [report] = run_cycle(runtime, start + timedelta(minutes=minutes))
        assert not report.refresh.ok
        told.append(len([t for t in notices(sandbox) if "the pager is unreachable" in t]))
    # +5: one failure; +10: two failures, but the data is only 2 intervals old; +15: stale, said once.
    assert told == [0, 0, 1, 1]
    with reading(runtime.sessions) as session:
        [team_now] = oncall_view.on_call_now(
            session, runtime.config, runtime.config.teams, start + timedelta(minutes=20)
        )
    assert team_now.freshness.failing_since == start + timedelta(minutes=5)
    assert team_now.freshness.stale

    sandbox.opsgenie.down = False
    run_cycle(runtime, start + timedelta(minutes=25))
    run_cycle(runtime, start + timedelta(minutes=30))
    texts = notices(sandbox)
    assert len([t for t in texts if "answers again" in t]) == 1
    assert len(texts) == 2
