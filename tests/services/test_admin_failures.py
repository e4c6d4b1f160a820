"""In `run`, a failing team's reason is logged, and what only an admin can fix is told once."""

from __future__ import annotations

import logging

import pytest

from app.jobs import refresh_job
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World
from app.services.usergroups import WritePacer
from tests.conftest import RuntimeFactory


def _run_job_twice(make_runtime: RuntimeFactory, config: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    runtime = make_runtime(config)
    job = refresh_job(runtime, WritePacer())  # the job `oncall-bot run` schedules every refresh_minutes
    with caplog.at_level(logging.INFO):
        job()
        job()
    return [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize(
    ("change", "reason", "told"),
    [
        (
            ('usergroup = "data-oncall"', 'usergroup = "gone-oncall"'),
            "usergroup: no user group @gone-oncall in this workspace",
            "no user group @gone-oncall in this workspace: create it or fix 'usergroup'",
        ),
        (
            ('schedule = "data_team_schedule"', 'schedule = "deleted_schedule"'),
            "pager: Opsgenie has no schedule",
            "fix 'schedule' in the teams file",
        ),
    ],
    ids=["usergroup gone", "schedule not found"],
)
def test_the_reason_is_logged_every_cycle_and_the_channel_told_once(
    sandbox: Sandbox,
    world: World,
    make_runtime: RuntimeFactory,
    caplog: pytest.LogCaptureFixture,
    change: tuple[str, str],
    reason: str,
    told: str,
) -> None:
    config = world.config_text.replace(*change)
    assert config != world.config_text
    logged = _run_job_twice(make_runtime, config, caplog)
    assert len([m for m in logged if m.startswith("team data failed: ") and reason in m]) == 2
    admin = [m["text"] for m in sandbox.slack.messages(CHANNEL) if m["text"].startswith(":rotating_light:")]
    assert len(admin) == 1
    assert told in admin[0]
    assert "An admin must fix this" in admin[0]


def test_a_bot_removed_from_its_channel_is_logged_with_the_reason_and_an_error_once(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.slack.add_channel(CHANNEL, name="data-team", bot_is_member=False)  # someone removed the bot
    logged = _run_job_twice(make_runtime, world.config_text, caplog)
    failing = [m for m in logged if m.startswith("team data failed: ")]
    assert failing
    assert all("channel: the bot is not in channel C0DATA00001 (not_in_channel)" in m for m in failing)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    errors = [m for m in errors if "/invite @oncall-bot" in m]
    assert len(errors) == 1  # said once for the admin; the channel itself cannot be told
