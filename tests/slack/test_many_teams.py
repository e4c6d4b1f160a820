"""200 teams with long names, through the real bot and the sandbox: every answer is one Slack accepts."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from app.domain import Shift
from app.sandbox import Sandbox
from app.sandbox.block_kit import block_errors
from app.sandbox.world import CHANNEL, OTHER_CHANNEL, seed, teams_toml
from app.wiring import RunningBot
from tests.conftest import BotFactory
from tests.services.test_oncall_view import fill_team, map_person
from tests.slack.test_home import home_texts, open_home
from tests.slack.test_mentions import mention, thread, wait_until
from tests.slack.test_oncall_command import MONDAY, NOW, ask, eventually

ALICE = "U0ALICE0001"
NAMES = [f"team-{i:03d}-" + "x" * 71 for i in range(200)]  # 80 characters, the longest a name may be
CROWD = [f"p{i:02d}@corp.example" for i in range(70)]  # on call for every team: a long list each
POINTER = re.compile(r"… and (\d+) more")


def many_teams() -> str:
    """The seeded 'data' team plus 200 teams with the longest names the teams file allows."""
    return teams_toml(
        "".join(
            f'\n[[teams]]\nname = "{name}"\nschedule = "s{i}"\nusergroup = "g{i}"\nchannel = "C0T{i:07d}"\n'
            for i, name in enumerate(NAMES)
        )
    )


@pytest.fixture
def bot(sandbox: Sandbox, make_bot: BotFactory) -> RunningBot:
    """The real bot with 201 teams; 'data' has half-hour shifts all week, every team a crowd on call."""
    seed(sandbox, NOW)
    running = make_bot(many_teams(), clock=lambda: NOW)
    half_hours = [
        Shift(
            CROWD[i % len(CROWD)],
            MONDAY + i * timedelta(minutes=30),
            MONDAY + (i + 1) * timedelta(minutes=30),
        )
        for i in range(2 * 24 * 14)
    ]
    with running.runtime.sessions.begin() as session:
        fill_team(session, "data", people=["alice@corp.example"], shifts=half_hours, fetched_at=NOW)
        for name in NAMES:
            fill_team(session, name, people=CROWD, seen_at=NOW - timedelta(minutes=2))
        map_person(session, "alice@corp.example", ALICE)
        for i, email in enumerate(CROWD):
            map_person(session, email, f"U0P{i:08d}")
    return running


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text of a block list (sections, headers, context elements)."""
    return home_texts({"blocks": blocks})


def assert_slack_takes(payload: dict[str, Any], *, surface: str = "message") -> list[str]:
    """The payload is within every Block Kit limit (as the sandbox checks it); returns its texts."""
    assert block_errors(payload["blocks"], surface=surface) == []
    assert all(len(text) <= 3000 for text in texts(payload["blocks"]))
    assert len(payload["blocks"]) <= (50 if surface == "message" else 100)
    return texts(payload["blocks"])


def pointed(said: list[str]) -> int:
    """How many items the answer says it left out (exactly one pointer)."""
    [count] = [int(m.group(1)) for text in said for m in POINTER.finditer(text)]
    return count


def test_the_mention_help_reply_is_posted_with_a_teams_pointer(sandbox: Sandbox, bot: RunningBot) -> None:
    _, ts = mention(sandbox, "help")
    [reply] = wait_until(lambda: thread(sandbox, ts))
    said = assert_slack_takes(reply)
    teams = next(text for text in said if text.startswith("Teams: "))
    shown = teams.removeprefix("Teams: ").split(" … and ")[0].split(", ")
    assert shown == ["data", *NAMES][: len(shown)]
    assert teams.endswith(f"… and {201 - len(shown)} more (my Home tab lists every team)")
    assert not [r for r in sandbox.slack.requests("chat.postMessage") if not r.ok]


def test_oncall_help_is_accepted_and_points_to_the_rest(sandbox: Sandbox, bot: RunningBot) -> None:
    asked = ask(sandbox, "help")
    assert asked.ack.accepted
    said = assert_slack_takes(asked.payload)
    assert 0 < pointed(said) < 201


def test_oncall_for_every_team_is_accepted_and_counts_the_teams_left_out(
    sandbox: Sandbox, bot: RunningBot
) -> None:
    asked = ask(sandbox, "", channel=OTHER_CHANNEL)
    assert asked.ack.accepted
    said = assert_slack_takes(asked.payload)
    listed = sum(line.startswith(("*team-", "*data*")) for text in said for line in text.splitlines())
    assert f"… and {201 - listed} more teams: ask `/oncall <team>` for one team." in said


def test_a_week_of_half_hour_shifts_is_cut_with_a_count_of_shifts(sandbox: Sandbox, bot: RunningBot) -> None:
    asked = ask(sandbox, "week", channel=CHANNEL)
    assert asked.ack.accepted
    said = assert_slack_takes(asked.payload)
    listed = sum(line.startswith("• ") for text in said for line in text.splitlines())
    in_week = sum(1 for text in said if "more shift" in text)
    assert in_week == 1
    assert 0 < listed < pointed(said) + listed
    assert any(text.endswith("in the next 7 days: the pager's schedule has them all.") for text in said)


def test_the_home_tab_with_200_crowded_teams_is_published_within_slack_s_limits(
    sandbox: Sandbox, bot: RunningBot
) -> None:
    open_home(sandbox, ALICE)
    [published] = eventually(lambda: sandbox.slack.views(ALICE), timeout=10)
    view = published["view"]
    said = assert_slack_takes(view, surface="view")
    assert len(json.dumps(view).encode()) <= 250_000  # Slack's view_too_large
    assert all(r.ok for r in sandbox.slack.requests("views.publish"))
    listed = sum(line.startswith("*team-") for text in said for line in text.splitlines())
    assert f"… and {200 - listed} more teams: ask `/oncall <team>` for one of them." in said
    crowd = next(line for text in said for line in text.splitlines() if line.startswith("*team-000-"))
    assert crowd.endswith(", <@U0P00000060> … and 9 more")  # a crowd is cut at whole mentions, and counted
