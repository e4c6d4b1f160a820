"""The App Home through the sandbox: app_home_opened → views.publish, in the user's own time zone."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.sandbox import Sandbox
from app.sandbox.world import seed, teams_toml
from app.store.models import SlackUser, UsergroupSync
from app.wiring import RunningBot
from tests.conftest import BotFactory
from tests.services.test_oncall_view import fill_team, map_person, weekly
from tests.slack.test_oncall_command import INFRA, eventually

NOW = datetime(2025, 3, 5, 10, 37, tzinfo=UTC)  # Wed 11:37 in Amsterdam, 02:37 in Los Angeles
MONDAY = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
ALICE, DAVE = "U0ALICE0001", "U0DAVE00001"
OPS = """
[[teams]]
name = "ops"
schedule = "ops_schedule"
usergroup = "ops-oncall"
channel = "C0OPS000001"
"""


@pytest.fixture
def bot(sandbox: Sandbox, make_bot: BotFactory) -> RunningBot:
    """Three teams: data in sync, infra with Opsgenie failing, ops with someone who is not in Slack."""
    seed(sandbox, NOW)
    running = make_bot(teams_toml(INFRA + OPS), clock=lambda: NOW)
    with running.runtime.sessions.begin() as session:
        fill_team(
            session,
            "data",
            people=["carol@corp.example"],
            seen_at=NOW - timedelta(minutes=2),
            shifts=weekly(MONDAY, "carol@corp.example", "dave@corp.example"),
        )
        fill_team(
            session,
            "infra",
            people=["dave@corp.example"],
            seen_at=NOW - timedelta(minutes=40),
            failing_since=NOW - timedelta(minutes=30),
        )
        fill_team(session, "ops", people=["erin@corp.example", "alice@corp.example"], seen_at=NOW)
        map_person(session, "carol@corp.example", "U0CAROL0001")
        map_person(session, "dave@corp.example", DAVE)
        map_person(session, "alice@corp.example", ALICE)
        map_person(session, "erin@corp.example", None, status="not_found")
        session.add(
            UsergroupSync(
                team="data",
                usergroup_id="S0DATA00001",
                at=NOW - timedelta(minutes=2),
                before=["U0DAVE00001"],
                after=["U0CAROL0001"],
                result="updated",
                detail=None,
            )
        )
    sandbox.slack.clear_requests()
    return running


def open_home(sandbox: Sandbox, user: str, tab: str = "home") -> str:
    """The user clicks the app's Home tab; returns the envelope id."""
    return sandbox.slack.socket.push_event(
        {"type": "app_home_opened", "user": user, "channel": "D0HOME00001", "tab": tab}
    )


def published_for(sandbox: Sandbox, user: str) -> list[Any]:
    """Every views.publish call for ``user``, answered or refused."""
    return [r for r in sandbox.slack.requests("views.publish") if r.params.get("user_id") == user]


def home_texts(view: dict[str, Any]) -> list[str]:
    """Every text of a published view."""
    found = []
    for block in view["blocks"]:
        if block.get("text"):
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", [])]
    return found


def test_home_shows_every_team_its_sync_health_and_my_next_shift(sandbox: Sandbox, bot: RunningBot) -> None:
    open_home(sandbox, DAVE)
    [published] = eventually(lambda: sandbox.slack.views(DAVE))
    texts = home_texts(published["view"])
    assert published["view"]["type"] == "home"
    assert texts[0] == "On call now"
    assert texts[1].split("\n") == [
        "*data*: <@U0CAROL0001> until Mon 10 Mar 01:00 PDT",
        "Sync: *ok* — @data-oncall updated at 02:35 PST · _as of 02:35 PST, 2 min ago_",
        "",
        "*infra*: <@U0DAVE00001>",
        "Sync: *stale* — :warning: Opsgenie unreachable since 02:07 PST — showing data from 01:57 PST",
        "",
        "*ops*: <@U0ALICE0001>, erin@corp.example (no Slack account)",
        "Sync: *unmapped people* — not in @ops-oncall: erin@corp.example (no Slack account) · "
        "_as of 02:37 PST, just now_",
        "",
    ]
    assert texts[-3:-1] == [
        "Your shifts",
        "*Your next shifts*\n• *data*: Mon 10 Mar 01:00 PDT → Mon 17 Mar 01:00 PDT\n"
        "Your shifts in *infra* and *ops* are not known yet: I have no schedule from the pager for them yet.",
    ]
    assert texts[-1] == "Times in America/Los_Angeles, your Slack time zone. Updated 02:37 PST."
    # The zone was not cached: it was asked for first (an event has no ack deadline), then the view published.
    assert [r.method for r in sandbox.slack.requests()] == ["users.info", "views.publish"]
    with bot.runtime.sessions.begin() as session:
        profile = session.get(SlackUser, DAVE)
        assert profile is not None
        assert profile.tz == "America/Los_Angeles"


def test_the_messages_tab_publishes_nothing(sandbox: Sandbox, bot: RunningBot) -> None:
    sandbox.slack.socket.wait_for_ack(open_home(sandbox, ALICE, tab="messages"))
    # Bolt acks an event before its listener runs: give a wrong publish far more time than it needs.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and not published_for(sandbox, ALICE):
        time.sleep(0.01)
    # The same connection then serves another user's Home tab: the bot was awake and publishing.
    open_home(sandbox, DAVE)
    eventually(lambda: sandbox.slack.views(DAVE))
    assert published_for(sandbox, ALICE) == []
    assert sandbox.slack.views(ALICE) == []


def test_a_failing_views_publish_is_logged_not_raised_into_the_socket(
    sandbox: Sandbox, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.slack.fail("views.publish", "internal_error")
    open_home(sandbox, ALICE)
    eventually(lambda: sandbox.slack.requests("views.publish"))
    eventually(lambda: "views.publish: Slack answered internal_error" in caplog.text)
    open_home(sandbox, ALICE)  # the next opening works again
    assert eventually(lambda: sandbox.slack.views(ALICE))
