"""One shift seen from Tokyo, Los Angeles and Amsterdam across DST changes (time is moved, never waited for).

The sandbox's Opsgenie rotates on the schedule's wall clock (Monday 09:00 Europe/Amsterdam), the roster
refresh caches it, and /oncall renders it in each asker's Slack zone through the real Socket Mode path.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, seed
from app.services import slack_users
from app.services.people import resolve_people
from app.services.roster import refresh_team
from app.wiring import RunningBot
from tests.conftest import BotFactory
from tests.slack.test_oncall_command import ask

ALICE, CAROL, DAVE = "U0ALICE0001", "U0CAROL0001", "U0DAVE00001"  # Amsterdam, Tokyo, Los Angeles
ROTA = ("alice@corp.example", "bob@corp.example", "carol@corp.example")


class Clock:
    """The bot's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def start(sandbox: Sandbox, make_bot: BotFactory, at: datetime) -> tuple[RunningBot, Clock]:
    """Seed the rotation around ``at``, start the bot with a movable clock, learn every asker's zone."""
    clock = Clock(at)
    world = seed(sandbox, at)
    bot = make_bot(world.config_text, clock=clock)
    for user in (ALICE, CAROL, DAVE):
        slack_users.refresh_user(bot.runtime, user)
    refresh(bot, clock)
    return bot, clock


def refresh(bot: RunningBot, clock: Clock) -> None:
    """What the scheduled cycle does first: read the pager into the cache, then map the people."""
    assert refresh_team(bot.runtime, bot.runtime.config.teams[0], clock.at).ok
    resolve_people(bot.runtime, ROTA, clock.at)


@pytest.mark.parametrize(
    ("at", "week"),
    [
        pytest.param(
            datetime(2025, 3, 5, 12, 0, tzinfo=UTC),  # Los Angeles springs forward on Sun 9 Mar
            {
                CAROL: "• <@U0CAROL0001>: Mon 3 Mar 17:00 JST → Mon 10 Mar 17:00 JST",
                DAVE: "• <@U0CAROL0001>: Mon 3 Mar 00:00 PST → Mon 10 Mar 01:00 PDT",
                ALICE: "• <@U0CAROL0001>: Mon 3 Mar 09:00 CET → Mon 10 Mar 09:00 CET",
            },
            id="US DST inside the week",
        ),
        pytest.param(
            datetime(2025, 3, 26, 12, 0, tzinfo=UTC),  # Amsterdam springs forward on Sun 30 Mar
            {
                CAROL: "• <@U0CAROL0001>: Mon 24 Mar 17:00 JST → Mon 31 Mar 16:00 JST",
                DAVE: "• <@U0CAROL0001>: Mon 24 Mar 01:00 PDT → Mon 31 Mar 00:00 PDT",
                ALICE: "• <@U0CAROL0001>: Mon 24 Mar 09:00 CET → Mon 31 Mar 09:00 CEST",
            },
            id="EU DST inside the week",
        ),
    ],
)
def test_the_same_shift_in_each_askers_zone(
    sandbox: Sandbox, make_bot: BotFactory, at: datetime, week: dict[str, str]
) -> None:
    start(sandbox, make_bot, at)
    for user, line in week.items():
        texts = ask(sandbox, "week", user=user, channel=CHANNEL).texts
        assert line in texts[0].split("\n"), texts[0]


def test_handover_across_dst_then_time_moves_past_it(sandbox: Sandbox, make_bot: BotFactory) -> None:
    bot, clock = start(sandbox, make_bot, datetime(2025, 3, 26, 12, 0, tzinfo=UTC))
    expected_next = {
        CAROL: "*data*: <@U0ALICE0001> from Mon 31 Mar 16:00 JST (now: <@U0CAROL0001>)",
        DAVE: "*data*: <@U0ALICE0001> from Mon 31 Mar 00:00 PDT (now: <@U0CAROL0001>)",
        ALICE: "*data*: <@U0ALICE0001> from Mon 31 Mar 09:00 CEST (now: <@U0CAROL0001>)",
    }
    for user, line in expected_next.items():
        assert ask(sandbox, "next", user=user).texts[0] == f"*Next on call*\n{line}"

    clock.at = datetime(2025, 3, 31, 7, 30, tzinfo=UTC)  # half an hour after the 09:00 CEST handover
    refresh(bot, clock)
    expected_now = {
        CAROL: "*On call for data now:* <@U0ALICE0001>\nuntil Mon 7 Apr 16:00 JST",
        DAVE: "*On call for data now:* <@U0ALICE0001>\nuntil Mon 7 Apr 00:00 PDT",
        ALICE: "*On call for data now:* <@U0ALICE0001>\nuntil Mon 7 Apr 09:00 CEST",
    }
    for user, line in expected_now.items():
        assert ask(sandbox, "", user=user).texts[0] == line
    assert ask(sandbox, "me", user=ALICE).texts[0] == (
        "You are on call now for *data* until Mon 7 Apr 09:00 CEST\n"
        "You have no other upcoming shifts in the schedules I have (they reach Mon 14 Apr 09:30 CEST)."
    )
    assert ask(sandbox, "", user=DAVE).texts[1] == "as of 00:30 PDT, just now"
    clock.at += timedelta(minutes=7)  # no refresh since: the answer ages honestly
    assert ask(sandbox, "", user=CAROL).texts[1] == "as of 16:30 JST, 7 min ago"
