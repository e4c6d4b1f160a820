"""/oncall through the sandbox's Socket Mode and the real bot: answered in the ack, from the cache only."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text as sql

from app.sandbox import Sandbox
from app.sandbox.opsgenie import Rotation
from app.sandbox.socket_mode import Ack
from app.sandbox.world import CHANNEL, OTHER_CHANNEL, SCHEDULE, TEAM_ZONE, last_handover, seed, teams_toml
from app.services.cycle import run_cycle
from app.services.roster import refresh_team
from app.slack.listeners.commands import Query, answer, parse
from app.store.models import OnCallSnapshot, SlackUser
from app.wiring import RunningBot
from tests.conftest import BotFactory
from tests.services.test_oncall_view import fill_team, map_person, weekly

NOW = datetime(2025, 3, 5, 10, 37, tzinfo=UTC)  # Wed 11:37 in Amsterdam
MONDAY = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
ALICE, BOB, CAROL, DAVE = "U0ALICE0001", "U0BOB000001", "U0CAROL0001", "U0DAVE00001"
ZONES = {ALICE: "Europe/Amsterdam", CAROL: "Asia/Tokyo", DAVE: "America/Los_Angeles"}
INFRA = """
[[teams]]
name = "infra"
schedule = "infra_schedule"
usergroup = "infra-oncall"
channel = "C0INFRA0001"
"""
MASS = re.compile(r"<!(channel|here|everyone|subteam)|(?<![\w\u2060])@(channel|here|everyone)\b", re.I)
MENTION = re.compile(r"<@([^>|]*)")


@dataclass(frozen=True)
class Asked:
    """One /oncall round trip: the ack, and when the command was pushed (monotonic)."""

    ack: Ack
    pushed: float

    @property
    def arrived(self) -> float:
        """When the ack reached the sandbox, by the sandbox's own clock (never later than that)."""
        return self.pushed + self.ack.latency

    @property
    def payload(self) -> dict[str, Any]:
        assert self.ack.payload is not None, "the ack carried no answer"
        return self.ack.payload

    @property
    def texts(self) -> list[str]:
        """Every mrkdwn text of the answer, sections and contexts."""
        found = []
        for block in self.payload["blocks"]:
            if block.get("text"):
                found.append(block["text"]["text"])
            found += [e["text"] for e in block.get("elements", [])]
        return found


def ask(sandbox: Sandbox, text: str, user: str = ALICE, channel: str = CHANNEL) -> Asked:
    """Type ``/oncall text`` and wait for the ack."""
    pushed = time.monotonic()
    envelope = sandbox.slack.socket.push_command(text, user_id=user, channel_id=channel)
    return Asked(sandbox.slack.socket.wait_for_ack(envelope, timeout=3), pushed)


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``check`` until it returns something truthy (waiting on the bot's work, not on the clock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.01)
    raise AssertionError("the condition never became true")


@pytest.fixture
def bot(sandbox: Sandbox, make_bot: BotFactory) -> RunningBot:
    """The real bot (clock fixed at NOW) with a filled cache and known zones for alice, carol and dave."""
    seed(sandbox, NOW)
    running = make_bot(teams_toml(INFRA), clock=lambda: NOW)
    with running.runtime.sessions.begin() as session:
        fill_team(
            session,
            "data",
            people=["carol@corp.example"],
            seen_at=NOW - timedelta(minutes=2),
            shifts=weekly(MONDAY, "carol@corp.example", "alice@corp.example", "bob@corp.example"),
            fetched_at=NOW - timedelta(minutes=30),
        )
        fill_team(
            session,
            "infra",
            people=["dave@corp.example"],
            seen_at=NOW - timedelta(minutes=40),
            failing_since=NOW - timedelta(minutes=30),
        )
        map_person(session, "carol@corp.example", CAROL)
        map_person(session, "alice@corp.example", ALICE)
        map_person(session, "dave@corp.example", DAVE)
        map_person(session, "bob@corp.example", None, status="not_found")
        for user_id, zone in ZONES.items():
            email = f"{user_id[3:].rstrip('0').lower()}@corp.example"
            session.add(SlackUser(user_id=user_id, tz=zone, email=email, locale="en-US", fetched_at=NOW))
    sandbox.slack.clear_requests()
    sandbox.opsgenie.clear_requests()
    return running


CASES = [
    (
        "",
        ALICE,
        CHANNEL,
        [
            "*On call for data now:* <@U0CAROL0001>\nuntil Mon 10 Mar 09:00 CET",
            "as of 11:35 CET, 2 min ago",
            "Times in Europe/Amsterdam, your Slack time zone.",
        ],
    ),
    (
        "infra",
        DAVE,
        OTHER_CHANNEL,
        [
            "*On call for infra now:* <@U0DAVE00001>",
            ":warning: Opsgenie unreachable since 02:07 PST — showing data from 01:57 PST",
        ],
    ),
    (
        "",
        ALICE,
        OTHER_CHANNEL,
        [
            "*On call now*\n"
            "*data*: <@U0CAROL0001> · until Mon 10 Mar 09:00 CET · _as of 11:35 CET, 2 min ago_\n"
            "*infra*: <@U0DAVE00001> · "
            "_:warning: Opsgenie unreachable since 11:07 CET — showing data from 10:57 CET_"
        ],
    ),
    (
        "next data",
        ALICE,
        OTHER_CHANNEL,
        [
            "*Next on call*\n*data*: <@U0ALICE0001> from Mon 10 Mar 09:00 CET (now: <@U0CAROL0001>)",
            "as of 11:07 CET, 30 min ago",
        ],
    ),
    (
        "DATA next",
        ALICE,
        OTHER_CHANNEL,
        ["*Next on call*\n*data*: <@U0ALICE0001> from Mon 10 Mar 09:00 CET (now: <@U0CAROL0001>)"],
    ),
    (
        "week",
        CAROL,
        CHANNEL,
        [
            "*data — the next 7 days* · _as of 19:07 JST, 30 min ago_\n"
            "• <@U0CAROL0001>: Mon 3 Mar 17:00 JST → Mon 10 Mar 17:00 JST\n"
            "• <@U0ALICE0001>: Mon 10 Mar 17:00 JST → Mon 17 Mar 17:00 JST",
            "Times in Asia/Tokyo, your Slack time zone.",
        ],
    ),
    ("me", ALICE, CHANNEL, ["*Your next shifts*\n• *data*: Mon 10 Mar 09:00 CET → Mon 17 Mar 09:00 CET"]),
    ("me", CAROL, OTHER_CHANNEL, ["You are on call now for *data* until Mon 10 Mar 17:00 JST"]),
    ("help", ALICE, CHANNEL, ["*How to use /oncall*\n`/oncall` who is on call now"]),
    ("dta", ALICE, CHANNEL, ["I do not know `dta`. Did you mean `data`?"]),
    ("week nosuchteam", ALICE, CHANNEL, ["Sorry, I did not understand `nosuchteam`."]),
]


def test_every_subcommand_is_answered_in_the_ack_from_the_cache_alone(
    sandbox: Sandbox, bot: RunningBot
) -> None:
    for text, user, channel, expected in CASES:
        asked = ask(sandbox, text, user, channel)
        joined = "\n".join(asked.texts)
        assert asked.ack.latency < 3
        assert asked.payload["response_type"] == "ephemeral"
        assert asked.payload["text"]
        for fragment in expected:
            assert fragment in joined, f"/oncall {text!r}: {fragment!r} not in\n{joined}"
        # Not one Web API call while the user waited: the answer came from SQLite.
        assert not [r for r in sandbox.slack.requests() if asked.pushed <= r.at <= asked.arrived]
    assert sandbox.slack.requests() == []  # every asker's zone was cached: nothing to fetch afterwards either
    assert sandbox.opsgenie.requests() == []
    assert sandbox.slack.responses() == []  # no respond() to the response_url: the ack is the answer


def test_an_unknown_zone_is_fetched_after_the_ack_and_used_next_time(
    sandbox: Sandbox, bot: RunningBot
) -> None:
    first = ask(sandbox, "next", user=BOB)
    assert "Times in Europe/Amsterdam: I do not know your Slack time zone yet." in first.texts
    assert "*data*: <@U0ALICE0001> from Mon 10 Mar 09:00 CET (now: <@U0CAROL0001>)" in first.texts[0]
    [lookup] = eventually(lambda: sandbox.slack.requests("users.info"))
    assert lookup.params["user"] == BOB
    assert lookup.at > first.arrived  # after the ack had arrived, never on the user's clock

    def stored() -> SlackUser | None:
        with bot.runtime.sessions.begin() as session:
            return session.get(SlackUser, BOB)

    profile = eventually(stored)
    assert (profile.tz, profile.email) == ("America/New_York", "bob@corp.example")
    again = ask(sandbox, "next", user=BOB)
    assert "Times in America/New_York, your Slack time zone." in again.texts
    assert "from Mon 10 Mar 04:00 EDT" in again.texts[0]  # New York is already on summer time by then
    mine = ask(sandbox, "me", user=BOB)
    assert "• *data*: Mon 17 Mar 04:00 EDT → Mon 24 Mar 04:00 EDT" in mine.texts[0]  # found by profile email
    assert len(sandbox.slack.requests("users.info")) == 1


def test_a_stopped_bot_asks_slack_nothing_after_the_ack(sandbox: Sandbox, bot: RunningBot) -> None:
    """The after-ack users.info of a bot that stops meanwhile is skipped: a stopped bot calls no Slack.

    Its timer fired after the test's sandbox was gone under load, logging a refused call into the next
    test's output.
    """
    ask(sandbox, "next", user=BOB)  # BOB's zone is unknown: a users.info is scheduled after the ack
    bot.stop(timeout=5)
    for timer in [t for t in threading.enumerate() if t.name == f"users-info-{BOB}"]:
        timer.join(timeout=5)  # the scheduled fetch has run (or was skipped): wait on it, not on the clock
    assert sandbox.slack.requests("users.info") == []


def test_a_failing_users_info_costs_nothing_but_the_zone(sandbox: Sandbox, bot: RunningBot) -> None:
    sandbox.slack.fail("users.info", "internal_error", times=5)
    asked = ask(sandbox, "", user=BOB)
    assert "*On call for data now:* <@U0CAROL0001>\nuntil Mon 10 Mar 09:00 CET" in asked.texts
    eventually(lambda: sandbox.slack.requests("users.info"))
    assert (
        "Times in Europe/Amsterdam: I do not know your Slack time zone yet."
        in ask(sandbox, "", user=BOB).texts
    )


def test_answers_come_from_a_real_roster_refresh(sandbox: Sandbox, make_bot: BotFactory) -> None:
    now = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
    world = seed(sandbox, now)  # weekly rotation alice → bob → carol, now in carol's week
    running = make_bot(world.config_text, clock=lambda: now)
    assert refresh_team(running.runtime, running.runtime.config.teams[0], now).ok
    sandbox.opsgenie.clear_requests()
    current = ask(sandbox, "", user=ALICE)
    upcoming = ask(sandbox, "next data", user=ALICE)
    assert current.texts[0] == "*On call for data now:* carol@corp.example\nuntil Mon 17 Mar 09:00 CET"
    assert (
        upcoming.texts[0]
        == "*Next on call*\n*data*: alice@corp.example from Mon 17 Mar 09:00 CET (now: carol@corp.example)"
    )
    assert upcoming.texts[1] == "as of 13:00 CET, just now"
    assert sandbox.opsgenie.requests() == []


def test_me_finds_shifts_the_pager_spells_with_capitals(sandbox: Sandbox, make_bot: BotFactory) -> None:
    # /oncall me matches the cache's identities case-insensitively (the SQLite read narrows by index ranges).
    now = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
    world = seed(sandbox, now)  # alice's next turn is Mon 17 Mar, bob's Mon 24 Mar
    spelled = ["Alice@Corp.Example", "BOB@CORP.EXAMPLE", "carol@corp.example"]
    weekly_turns = Rotation(
        name="weekly",
        participants=spelled,
        start=last_handover(now) - timedelta(days=14),
        length=timedelta(days=7),
    )
    sandbox.opsgenie.add_schedule("capitals", timezone=TEAM_ZONE, rotations=[weekly_turns])
    running = make_bot(world.config_text.replace(SCHEDULE, "capitals"), clock=lambda: now)
    assert not any(report.failed for report in run_cycle(running.runtime, now))  # maps people too
    for user, shift in (
        (ALICE, "Mon 17 Mar 09:00 CET → Mon 24 Mar 09:00 CET"),
        (BOB, "Mon 24 Mar 09:00 CET → Wed 26 Mar 13:00 CET"),  # as far as the timeline reaches
    ):
        asked = ask(sandbox, "me", user=user, channel=OTHER_CHANNEL)
        assert f"• *data*: {shift}" in asked.texts[0], asked.texts


def test_an_unreadable_cache_gets_a_sentence_not_silence(
    sandbox: Sandbox, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    with bot.runtime.sessions.begin() as session:
        session.execute(sql("DROP TABLE shifts"))  # what a broken or half-migrated database looks like
    asked = ask(sandbox, "next data")
    assert asked.texts == ["Sorry, I cannot read my on-call cache right now. Please try again in a minute."]
    assert eventually(lambda: "listener for /oncall failed" in caplog.text)


def test_a_row_that_breaks_the_answer_gets_a_sentence_in_the_ack(
    sandbox: Sandbox, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    with bot.runtime.sessions.begin() as session:  # no database error: a value our code cannot render
        session.add(
            OnCallSnapshot(team="data", people=["carol@corp.example", 7], first_seen_at=NOW, last_seen_at=NOW)
        )
    asked = ask(sandbox, "data")
    assert asked.payload["response_type"] == "ephemeral"
    assert asked.texts == ["Sorry, I cannot read my on-call cache right now. Please try again in a minute."]
    assert eventually(lambda: "listener for /oncall failed" in caplog.text)
    assert "AttributeError" in caplog.text  # logged by the app's error handler, with its traceback
    # The bot carries on: an answer that does not read the broken row still comes.
    assert ask(sandbox, "week data").texts[0].startswith("*data — the next 7 days*")


def test_me_names_the_teams_with_no_schedule_and_ignores_their_outage(
    sandbox: Sandbox, bot: RunningBot
) -> None:
    # infra has an on-call answer but no timeline yet, and Opsgenie fails for it; alice is only in data.
    asked = ask(sandbox, "me", user=ALICE, channel=OTHER_CHANNEL)
    assert asked.texts == [
        "*Your next shifts*\n"
        "• *data*: Mon 10 Mar 09:00 CET → Mon 17 Mar 09:00 CET\n"
        "Your shifts in *infra* are not known yet: I have no schedule from the pager for it yet.",
        "as of 11:07 CET, 30 min ago",
        "Times in Europe/Amsterdam, your Slack time zone.",
    ]
    dave = ask(sandbox, "me", user=DAVE, channel=OTHER_CHANNEL)  # dave is on no timeline at all
    assert dave.texts == [
        "You have no upcoming shifts in the schedules I have (they reach Wed 19 Mar 03:07 PDT).\n"
        "Your shifts in *infra* are not known yet: I have no schedule from the pager for it yet.",
        "as of 02:07 PST, 30 min ago",
        "Times in America/Los_Angeles, your Slack time zone.",
    ]
    week = ask(sandbox, "week infra", user=ALICE, channel=OTHER_CHANNEL)
    assert week.payload["text"] == "On call this week — infra: not known yet"


# ---- hostile input ---------------------------------------------------------------------------------


HOSTILE = [
    "<!channel>",
    "<!here> next",
    "week <!everyone>",
    "<@U0ALICE0001>",
    "next <@U0BOB000001|bob> &<>",
    "@here @channel @everyone",
    "🔥🚒 data",
    "x" * 4000,
    "data " + "\x00\x07\x1b[31m\u202e\ufeff",
    "<!subteam^S0DATA00001|@data-oncall>",
    "me " * 1000,
]


def assert_answer_is_safe(payload: dict[str, Any] | None, mapped: set[str]) -> None:
    """An ephemeral answer, no mass mention, and no mention of anyone but people on the rota."""
    assert payload is not None
    assert payload["response_type"] == "ephemeral"
    assert payload["text"]
    assert 0 < len(payload["blocks"]) <= 50
    dumped = json.dumps(payload, ensure_ascii=False)
    assert not MASS.search(dumped), dumped[:500]
    assert set(MENTION.findall(dumped)) <= mapped, dumped[:500]


def test_hostile_text_through_the_socket(sandbox: Sandbox, bot: RunningBot) -> None:
    for text in HOSTILE:
        asked = ask(sandbox, text)
        assert asked.ack.latency < 3
        assert_answer_is_safe(asked.payload, {ALICE, CAROL, DAVE})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(max_size=300)
    | st.lists(st.sampled_from(["next", "week", "me", "data", "<!here>", "@here", "&", " "])).map("".join)
)
# Hypothesis found it: "@HERE0" kept its mass word whole (no word boundary), then a cut at 80 made "@HERE…".
@example(text="0000@HERE:@HERE:00000000000000@HERE:0000000000000000000000@HERE:000000:@HERE0")
def test_any_text_gets_a_safe_answer(bot: RunningBot, text: str) -> None:
    runtime = bot.runtime
    query = parse(text, [t.name for t in runtime.config.teams])
    assert isinstance(query, Query)
    with runtime.sessions.begin() as session:
        payload, _ = answer(session, runtime, query, ALICE, CHANNEL, NOW)
    assert_answer_is_safe(payload, {ALICE, CAROL, DAVE})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=4000))
def test_any_text_through_the_socket(sandbox: Sandbox, bot: RunningBot, text: str) -> None:
    asked = ask(sandbox, text, user=DAVE, channel=OTHER_CHANNEL)
    assert_answer_is_safe(asked.payload, {ALICE, CAROL, DAVE})


def test_parse() -> None:
    teams = ["data", "Infra"]
    assert parse("", teams) == Query("now")
    assert parse("  INFRA ", teams) == Query("now", "Infra")
    assert parse("#data week", teams) == Query("week", "data")
    assert parse("next infra", teams) == Query("next", "Infra")
    assert parse("me", teams) == Query("me")
    assert parse("help", teams) == Query("help")
    assert parse("dat", teams) == Query("unknown", word="dat", suggestions=("data",))
    assert parse("wek", teams) == Query("unknown", word="wek", suggestions=("week",))
    assert parse("next inf", teams) == Query("unknown", word="inf", suggestions=("Infra",))
    assert parse("data now please", teams) == Query("help", word="data now please")
    assert parse("me data", teams) == Query("help", word="me data")
    assert parse("zzzz", teams) == Query("unknown", word="zzzz")  # no near miss: the usage is shown
