"""`oncall-bot check` for PagerDuty teams: each schedule read, the routing key's shape, never an event."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.checks import run_checks
from app.oncall_config import load_oncall_config
from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.opsgenie_schedule import Rotation
from app.sandbox.world import CHANNEL, PEOPLE, USERGROUP, USERGROUP_ID, write_config
from tests.conftest import settings_for

SCHEDULE_ID = "PDATA01"


def workspace(sandbox: Sandbox) -> None:
    """The Slack side of the demo workspace and a PagerDuty schedule for team data."""
    for user_id, handle, email, zone in PEOPLE:
        sandbox.slack.add_user(user_id, name=handle, email=email, real_name=handle.title(), tz=zone)
    sandbox.slack.add_channel(CHANNEL, name="data-team")
    sandbox.slack.add_usergroup(USERGROUP_ID, handle=USERGROUP, name="Data on-call", users=["U0DAVE00001"])
    start = utc_now() - timedelta(days=3)
    rotation = Rotation("weekly", ["alice@corp.example", "bob@corp.example"], start, timedelta(days=7))
    sandbox.pagerduty.add_schedule("Data primary", schedule_id=SCHEDULE_ID, layers=[rotation])


def team(schedule: str, extra: str = "") -> str:
    return (
        f'timezone = "Europe/Amsterdam"\n\n[[teams]]\nname = "data"\nprovider = "pagerduty"\n'
        f'schedule = "{schedule}"\nusergroup = "{USERGROUP}"\nchannel = "{CHANNEL}"\n{extra}'
    )


def lines(sandbox: Sandbox, tmp_path: Path, text: str) -> dict[str, tuple[bool, bool, str]]:
    path = write_config(tmp_path, text)
    results = run_checks(settings_for(sandbox, tmp_path, path), load_oncall_config(path))
    return {r.name: (r.ok, r.note, r.line()) for r in results}


def test_a_pagerduty_team_is_checked_by_reading_its_schedule(sandbox: Sandbox, tmp_path: Path) -> None:
    workspace(sandbox)
    found = lines(sandbox, tmp_path, team("Data primary", 'escalate = "page"\n'))
    assert found["PagerDuty API key"][:2] == (True, False)
    ok, _, line = found["team data: schedule 'Data primary'"]
    assert ok, line
    assert "on call now: alice@corp.example" in line
    ok, note, line = found["PagerDuty routing key (PAGERDUTY_ROUTING_KEY)"]
    assert (ok, note) == (True, True)
    assert "check never pages anyone (teams paging on mentions: data)" in line
    assert sandbox.pagerduty.events() == []  # nobody was paged
    assert all(not r.path.startswith("/abilities") for r in sandbox.pagerduty.requests())
    assert not any(ok is False for ok, _, _ in found.values()), found


def test_pagerduty_failures_get_pagerdutys_hints(sandbox: Sandbox, tmp_path: Path) -> None:
    workspace(sandbox)
    missing = lines(sandbox, tmp_path, team("PNOPE00"))
    ok, _, line = missing["team data: schedule 'PNOPE00'"]
    assert not ok
    assert "PagerDuty has no schedule 'PNOPE00'" in line
    assert "the schedule's id, e.g. PI7DH85, or exact name" in line
    sandbox.pagerduty.api_token = "rotated"
    rejected = lines(sandbox, tmp_path, team(SCHEDULE_ID))
    ok, _, line = rejected["PagerDuty API key"]
    assert not ok
    assert "check PAGERDUTY_API_TOKEN" in line
    assert "API Access Keys" in line
    assert "sandbox-pagerduty-token" not in str(rejected)


def test_a_malformed_routing_key_fails_check_before_any_page(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace(sandbox)
    monkeypatch.setenv("DATA_ROUTING_KEY", "https://events.pagerduty.com/x")
    found = lines(
        sandbox, tmp_path, team(SCHEDULE_ID, 'escalate = "page"\nrouting_key_env = "DATA_ROUTING_KEY"\n')
    )
    ok, _, line = found["PagerDuty routing key (DATA_ROUTING_KEY)"]
    assert not ok
    assert "DATA_ROUTING_KEY is not an Events API v2 integration key" in line
    assert "Integration Key" in line
