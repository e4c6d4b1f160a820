"""The /oncall and App Home renderers on exact output: people, freshness, limits and hostile text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.domain import HandoverTime, Team
from app.model.oncall import (
    Freshness,
    MyShifts,
    Person,
    ShiftView,
    TeamHome,
    TeamNext,
    TeamNow,
    TeamWeek,
    UserZone,
)
from app.slack import home_blocks as home_render
from app.slack import me_blocks, oncall_help, words
from app.slack import oncall_blocks as render
from app.slack.blocks import ago, context, fit_sections

NOW = datetime(2025, 3, 5, 10, 37, tzinfo=UTC)  # Wed 11:37 in Amsterdam
AS_OF = NOW - timedelta(minutes=2)
HANDOVER = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)  # Mon 09:00 in Amsterdam
MONDAY = HANDOVER - timedelta(days=7)
FRESH = Freshness(AS_OF)
AMS = UserZone("Europe/Amsterdam", known=True)
DATA = Team("data", "data_schedule", "data-oncall", "C0DATA00001", HandoverTime(0, 9, 0), "Europe/Amsterdam")
ALICE = Person("alice@corp.example", "U0ALICE0001", "Alice", "ok")
BOB = Person("bob@corp.example", "U0BOB000001", "Bob", "ok")
LONG = "Maximiliane " + "Wolkenkratzer-" * 20 + "Schmidt"
HOSTILE = "<!channel> & <@U0ALICE0001> <!here|here> <!everyone> @here"
MASS = ("<!channel", "<!here", "<!everyone", "<!subteam")


def sections(payload: dict[str, Any]) -> list[str]:
    """Texts of the section blocks."""
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]


def contexts(payload: dict[str, Any]) -> list[str]:
    """Texts of the context blocks."""
    return [e["text"] for b in payload["blocks"] if b["type"] == "context" for e in b["elements"]]


def assert_safe(payload: dict[str, Any]) -> None:
    """No mass mention, and within Slack's limits for a message."""
    dumped = json.dumps(payload, ensure_ascii=False)
    assert not any(token in dumped for token in MASS), dumped
    assert len(payload["blocks"]) <= 50
    assert all(len(text) <= 3000 for text in sections(payload))
    assert payload["response_type"] == "ephemeral"
    assert payload["text"]


# ---- words -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "said"),
    [
        (timedelta(seconds=59), "just now"),
        (timedelta(minutes=2), "2 min ago"),
        (timedelta(minutes=60), "1 h ago"),
        (timedelta(hours=3, minutes=5), "3 h 5 min ago"),
        (timedelta(days=3, hours=1), "3 days ago"),
    ],
)
def test_ago(delta: timedelta, said: str) -> None:
    assert ago(delta) == said


@pytest.mark.parametrize(
    ("at", "zone", "clock", "moment"),
    [
        (AS_OF, "Europe/Amsterdam", "11:35 CET", "today 11:35 CET"),
        (HANDOVER, "Europe/Amsterdam", "Mon 10 Mar 09:00 CET", "Mon 10 Mar 09:00 CET"),
        (NOW + timedelta(days=1), "Asia/Tokyo", "Thu 6 Mar 19:37 JST", "tomorrow 19:37 JST"),
        (HANDOVER, "America/Los_Angeles", "Mon 10 Mar 01:00 PDT", "Mon 10 Mar 01:00 PDT"),
        (AS_OF, "Asia/Dubai", "14:35 UTC+04", "today 14:35 UTC+04"),
    ],
)
def test_times_name_their_zone(at: datetime, zone: str, clock: str, moment: str) -> None:
    assert words.clock(at, zone, NOW) == clock
    assert words.moment(at, zone, NOW) == moment


@pytest.mark.parametrize(
    ("who", "shown"),
    [
        (ALICE, "<@U0ALICE0001>"),
        (Person("g@partner.example", "U0GUEST0001", "Guest", "guest"), "<@U0GUEST0001>"),
        (Person("bob@corp.example", None, None, "not_found"), "bob@corp.example (no Slack account)"),
        (Person("bob@corp.example", "U0BOB000001", "Bob", "deleted"), "Bob (deactivated in Slack)"),
        (Person("bot@corp.example", "U0BOT000001", "deploybot", "bot"), "deploybot (a bot)"),
        (Person("new@corp.example"), "new@corp.example"),
        (Person("x@corp.example", "U1><!channel", None, "ok"), "x@corp.example"),
        (
            Person("x@corp.example", None, HOSTILE, "not_found"),
            "&lt;!channel&gt; &amp; &lt;@U0ALICE0001&gt; &lt;!here|here&gt; &lt;!everyone&gt; @\u2060here "
            "(no Slack account)",
        ),
        (Person("x@corp.example", None, LONG, "unknown"), LONG[:79] + "…"),
    ],
    ids=["mapped", "guest", "not found", "deleted", "bot", "not looked up", "bad id", "hostile", "long"],
)
def test_person(who: Person, shown: str) -> None:
    assert words.person(who) == shown


@pytest.mark.parametrize(
    ("fresh", "line"),
    [
        (FRESH, "as of 11:35 CET, 2 min ago"),
        (Freshness(None), ":hourglass: No data from Opsgenie yet: the first refresh has not finished"),
        (
            Freshness(NOW - timedelta(minutes=32), stale=True),
            ":warning: as of 11:05 CET, 32 min ago — older than expected: is the bot's refresh running?",
        ),
        (
            Freshness(NOW - timedelta(minutes=32), NOW - timedelta(minutes=17), "timeout"),
            ":warning: Opsgenie unreachable since 11:20 CET — showing data from 11:05 CET",
        ),
        (
            Freshness(None, NOW - timedelta(minutes=17)),
            ":warning: Opsgenie unreachable since 11:20 CET — no data yet",
        ),
        (Freshness(NOW - timedelta(days=2)), "as of Mon 3 Mar 11:37 CET, 2 days ago"),
    ],
    ids=["fresh", "no data", "stale", "failing", "failing without data", "old"],
)
def test_freshness_line(fresh: Freshness, line: str) -> None:
    assert render.freshness_line(fresh, "Europe/Amsterdam", NOW, "Opsgenie") == line


# ---- /oncall now -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("people", "fresh", "until", "section", "note"),
    [
        (
            None,
            Freshness(None),
            None,
            "*On call for data now:* _not known yet_",
            ":hourglass: No data from Opsgenie yet: the first refresh has not finished",
        ),
        (
            (),
            FRESH,
            HANDOVER,
            "*On call for data now:* _nobody_ (the schedule has a gap)",
            "as of 11:35 CET, 2 min ago",
        ),
        (
            (ALICE,),
            FRESH,
            HANDOVER,
            "*On call for data now:* <@U0ALICE0001>\nuntil Mon 10 Mar 09:00 CET",
            "as of 11:35 CET, 2 min ago",
        ),
        (
            (ALICE, BOB),
            FRESH,
            None,
            "*On call for data now:* <@U0ALICE0001>, <@U0BOB000001>",
            "as of 11:35 CET, 2 min ago",
        ),
        (
            (Person("bob@corp.example", None, None, "not_found"),),
            FRESH,
            None,
            "*On call for data now:* bob@corp.example (no Slack account)",
            "as of 11:35 CET, 2 min ago",
        ),
        (
            (Person("m@corp.example", None, LONG),),
            FRESH,
            None,
            f"*On call for data now:* {LONG[:79]}…",
            "as of 11:35 CET, 2 min ago",
        ),
        (
            (ALICE,),
            Freshness(NOW - timedelta(hours=2), stale=True),
            None,
            "*On call for data now:* <@U0ALICE0001>",
            ":warning: as of 09:37 CET, 2 h ago — older than expected: is the bot's refresh running?",
        ),
    ],
    ids=["no data yet", "0 people", "1 person", "2 people", "unmapped", "long name", "stale"],
)
def test_now_for_one_team(
    people: tuple[Person, ...] | None, fresh: Freshness, until: datetime | None, section: str, note: str
) -> None:
    payload = render.now_answer([TeamNow(DATA, people, fresh, until)], AMS, NOW, "Opsgenie")
    assert sections(payload) == [section]
    assert contexts(payload) == [note, "Times in Europe/Amsterdam, your Slack time zone."]
    assert payload["text"].startswith("On call for data now: ")
    assert_safe(payload)
    if people is None:
        assert "nobody" not in json.dumps(payload)


def test_now_for_every_team_fits_one_message() -> None:
    teams = [
        TeamNow(
            Team(f"team-{i:03d}-" + "x" * 60, "s", f"g{i}", "C0DATA00001", HandoverTime(0, 9, 0), "UTC"),
            (Person(f"{i}@x.example", None, LONG, "not_found"), ALICE, BOB),
            FRESH,
            HANDOVER,
        )
        for i in range(300)
    ]
    payload = render.now_answer(teams, AMS, NOW, "Opsgenie")
    assert_safe(payload)
    assert sum(len(text) for text in sections(payload)) <= 12_000
    shown = sum(text.count("\n*team-") + text.startswith("*team-") for text in sections(payload))
    assert 0 < shown < 300
    assert contexts(payload)[0] == f"… and {300 - shown} more teams: ask `/oncall <team>` for one team."
    assert sections(payload)[0].startswith("*On call now*\n*team-000-")


def test_unknown_zone_says_which_zone_is_shown() -> None:
    zone = UserZone("Europe/Amsterdam", known=False, needs_fetch=True)
    payload = render.now_answer([TeamNow(DATA, (ALICE,), FRESH)], zone, NOW, "Opsgenie")
    assert contexts(payload)[-1] == "Times in Europe/Amsterdam: I do not know your Slack time zone yet."


# ---- next, week, me --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upcoming", "line"),
    [
        (
            TeamNext(DATA, (ALICE,), HANDOVER, (BOB,), FRESH),
            "*data*: <@U0BOB000001> from Mon 10 Mar 09:00 CET (now: <@U0ALICE0001>)",
        ),
        (
            TeamNext(DATA, (ALICE,), HANDOVER, (), FRESH),
            "*data*: _nobody_ (the schedule has a gap) from Mon 10 Mar 09:00 CET (now: <@U0ALICE0001>)",
        ),
        (
            TeamNext(DATA, (ALICE,), None, (), FRESH, HANDOVER),
            "*data*: no handover in the schedule I have (the schedule I have ends Mon 10 Mar 09:00 CET); "
            "on call now: <@U0ALICE0001>",
        ),
        (TeamNext(DATA, None, None, (), Freshness(None)), "*data*: _no schedule from the pager yet_"),
    ],
    ids=["handover", "gap", "no handover cached", "no data"],
)
def test_next(upcoming: TeamNext, line: str) -> None:
    payload = render.next_answer([upcoming], AMS, NOW, "Opsgenie")
    assert sections(payload) == [f"*Next on call*\n{line}"]
    assert_safe(payload)


def test_next_fallback_says_not_known_yet_for_a_team_without_data() -> None:
    teams = [
        TeamNext(DATA, (ALICE,), HANDOVER, (BOB,), FRESH),
        TeamNext(DATA, (ALICE,), None, (), FRESH, HANDOVER),
        TeamNext(DATA, None, None, (), Freshness(None)),
    ]
    payload = render.next_answer(teams, AMS, NOW, "Opsgenie")
    assert payload["text"] == (
        "Next on call — data: <@U0BOB000001>; data: no handover known; data: not known yet"
    )


def test_week_lists_shifts_and_says_when_the_known_schedule_ends() -> None:
    shifts = (
        ShiftView("data", ALICE, MONDAY, HANDOVER),
        ShiftView("data", BOB, HANDOVER, HANDOVER + timedelta(days=7)),
    )
    weeks = [
        TeamWeek(DATA, shifts, FRESH, HANDOVER + timedelta(days=7)),
        TeamWeek(DATA, (), FRESH, NOW + timedelta(days=3)),
        TeamWeek(DATA, (), Freshness(None)),
    ]
    payload = render.week_answer(weeks, AMS, NOW, "Opsgenie")
    assert sections(payload)[0].split("\n") == [
        "*data — the next 7 days* · _as of 11:35 CET, 2 min ago_",
        "• <@U0ALICE0001>: Mon 3 Mar 09:00 CET → Mon 10 Mar 09:00 CET",
        "• <@U0BOB000001>: Mon 10 Mar 09:00 CET → Mon 17 Mar 09:00 CET",
        "*data — the next 7 days* · _as of 11:35 CET, 2 min ago_",
        "_nobody is scheduled in the next 7 days_",
        "_nothing in the schedule I have after Sat 8 Mar 11:37 CET_",
        "*data — the next 7 days* · "
        "_:hourglass: No data from Opsgenie yet: the first refresh has not finished_",
    ]
    assert payload["text"] == (
        "On call this week — data: <@U0ALICE0001>, <@U0BOB000001>; "
        "data: nobody scheduled; data: not known yet"
    )
    assert_safe(payload)


@pytest.mark.parametrize(
    ("mine", "known", "lines"),
    [
        (
            MyShifts("U1", (), (), (), Freshness(None)),
            False,
            ["I am still looking up your Slack profile: ask again in a moment."],
        ),
        (
            MyShifts("U1", (), (), (), Freshness(None)),
            True,
            [
                "I could not match you to anyone in the pager's schedules: your Slack email must be "
                "your pager login, or an admin can map you under `[people]`."
            ],
        ),
        (
            MyShifts("U1", ("a@x",), (), (), FRESH),
            True,
            ["You have no upcoming shifts in the schedules I have."],
        ),
        (
            MyShifts(
                "U1",
                ("a@x",),
                (ShiftView("data", ALICE, MONDAY, HANDOVER),),
                (ShiftView("ops", ALICE, HANDOVER, HANDOVER + timedelta(days=1)),),
                FRESH,
            ),
            True,
            [
                "You are on call now for *data* until Mon 10 Mar 09:00 CET",
                "*Your next shifts*",
                "• *ops*: Mon 10 Mar 09:00 CET → Tue 11 Mar 09:00 CET",
            ],
        ),
    ],
    ids=["profile not fetched yet", "not matched", "no shifts", "current and next"],
)
def test_me(mine: MyShifts, known: bool, lines: list[str]) -> None:
    payload = me_blocks.me_answer(mine, AMS, NOW, "Opsgenie", profile_known=known)
    assert sections(payload) == ["\n".join(lines)]
    assert_safe(payload)


NOT_KNOWN = "I have no schedule from the pager for"
REACH = HANDOVER + timedelta(days=7)


@pytest.mark.parametrize(
    ("mine", "lines", "note"),
    [
        pytest.param(
            MyShifts("U1", ("a@x",), (), (), FRESH, REACH, ("data",)),
            [
                "You have no upcoming shifts in the schedules I have (they reach Mon 17 Mar 09:00 CET).",
                f"Your shifts in *data* are not known yet: {NOT_KNOWN} it yet.",
            ],
            "as of 11:35 CET, 2 min ago",
            id="one team without data",
        ),
        pytest.param(
            MyShifts("U1", ("a@x",), (), (), Freshness(None), None, ("data", "ops")),
            [f"Your shifts in *data* and *ops* are not known yet: {NOT_KNOWN} them yet."],
            ":hourglass: No data from Opsgenie yet: the first refresh has not finished",
            id="no team has data",
        ),
        pytest.param(
            MyShifts(
                "U1",
                ("a@x",),
                (ShiftView("data", ALICE, MONDAY, HANDOVER),),
                (ShiftView("ops", ALICE, HANDOVER, REACH),),
                FRESH,
                REACH,
                ("infra", "<!channel> & db"),
            ),
            [
                "You are on call now for *data* until Mon 10 Mar 09:00 CET",
                "*Your next shifts*",
                "• *ops*: Mon 10 Mar 09:00 CET → Mon 17 Mar 09:00 CET",
                "Your shifts in *infra* and *&lt;!channel&gt; &amp; db* are not known yet: "
                f"{NOT_KNOWN} them yet.",
            ],
            "as of 11:35 CET, 2 min ago",
            id="shifts, and teams without data",
        ),
        pytest.param(
            MyShifts(
                "U1", ("a@x",), (ShiftView("data", ALICE, MONDAY, HANDOVER),), (), FRESH, REACH, ("ops",)
            ),
            [
                "You are on call now for *data* until Mon 10 Mar 09:00 CET",
                "You have no other upcoming shifts in the schedules I have "
                "(they reach Mon 17 Mar 09:00 CET).",
                f"Your shifts in *ops* are not known yet: {NOT_KNOWN} it yet.",
            ],
            "as of 11:35 CET, 2 min ago",
            id="on call now, no other shifts, a team without data",
        ),
        pytest.param(
            MyShifts("U1", ("a@x",), (), (), Freshness(None), None, tuple(f"t{i}" for i in range(12))),
            [
                "Your shifts in *t0*, *t1*, *t2*, *t3*, *t4*, *t5*, *t6*, *t7*, *t8*, *t9* and 2 more teams "
                f"are not known yet: {NOT_KNOWN} them yet."
            ],
            ":hourglass: No data from Opsgenie yet: the first refresh has not finished",
            id="many teams without data",
        ),
    ],
)
def test_me_never_says_no_shifts_for_a_team_without_data(mine: MyShifts, lines: list[str], note: str) -> None:
    payload = me_blocks.me_answer(mine, AMS, NOW, "Opsgenie", profile_known=True)
    assert sections(payload) == ["\n".join(lines)]
    assert contexts(payload) == [note, "Times in Europe/Amsterdam, your Slack time zone."]
    assert payload["text"] == " ".join(lines).replace("*", "")
    assert "nobody" not in json.dumps(payload)
    assert_safe(payload)


# ---- near misses, usage and hostile text -----------------------------------------------------------


def test_did_you_mean() -> None:
    payload = oncall_help.unknown_team("dta", ["data"], ["data", "infra"])
    assert sections(payload) == ["I do not know `dta`. Did you mean `data`?"]
    assert contexts(payload) == ["Teams: data, infra"]
    assert payload["text"] == "I do not know dta. Did you mean data?"


@pytest.mark.parametrize("text", [HOSTILE, "x" * 4000, "\x00\x07\x1b[31m\u202e", "🔥" * 50])
def test_hostile_text_is_never_echoed_raw(text: str) -> None:
    for payload in (oncall_help.unknown_team(text, ["data"], ["data"]), oncall_help.usage(["data"], text)):
        assert_safe(payload)
        dumped = json.dumps(payload, ensure_ascii=False)
        assert "@here" not in dumped
        assert "\x00" not in dumped
        assert "\x1b" not in dumped
        assert len(dumped) < 6000


# ---- App Home --------------------------------------------------------------------------------------


def home(people: tuple[Person, ...] | None = (ALICE,), fresh: Freshness = FRESH, **sync: Any) -> TeamHome:
    """A TeamHome with an ok sync unless told otherwise."""
    values = {"sync_result": "updated", "sync_at": AS_OF, "sync_detail": None, "unmapped": ()} | sync
    return TeamHome(TeamNow(DATA, people, fresh, HANDOVER), **values)


@pytest.mark.parametrize(
    ("team", "line"),
    [
        (home(), "Sync: *ok* — @data-oncall updated at 11:35 CET"),
        (
            home(fresh=Freshness(AS_OF, AS_OF + timedelta(minutes=1))),
            "Sync: *stale* — :warning: Opsgenie unreachable since 11:36 CET — showing data from 11:35 CET",
        ),
        (
            home(unmapped=(Person("bob@corp.example", None, None, "not_found"),)),
            "Sync: *unmapped people* — not in @data-oncall: bob@corp.example (no Slack account)",
        ),
        (
            home(sync_result="failed", sync_detail="Slack refused <!channel>"),
            "Sync: *failed* at 11:35 CET — @data-oncall: Slack refused &lt;!channel&gt;",
        ),
        (home(sync_result=None, sync_at=None), "Sync: *not yet* — @data-oncall has not been synced"),
        (
            home(people=None, fresh=Freshness(None), sync_result=None, sync_at=None),
            "Sync: *no data yet* — :hourglass: No data from Opsgenie yet: the first refresh has not finished",
        ),
    ],
    ids=["ok", "stale", "unmapped", "failed", "never synced", "no data yet"],
)
def test_home_sync_line(team: TeamHome, line: str) -> None:
    assert home_render.sync_line(team, "Europe/Amsterdam", NOW, "Opsgenie") == line


def test_home_view_shows_teams_and_my_shifts_within_limits() -> None:
    mine = MyShifts(
        "U1", ("a@x",), (), (ShiftView("data", ALICE, HANDOVER, HANDOVER + timedelta(days=7)),), FRESH
    )
    view = home_render.home_view([home()] * 400, mine, AMS, NOW, "Opsgenie", profile_known=True)
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    texts = [b["text"]["text"] for b in view["blocks"] if b.get("text")]
    assert texts[0] == "On call now"
    assert texts[1].startswith(
        "*data*: <@U0ALICE0001> until Mon 10 Mar 09:00 CET\n"
        "Sync: *ok* — @data-oncall updated at 11:35 CET · _as of 11:35 CET, 2 min ago_"
    )
    assert "*Your next shifts*\n• *data*: Mon 10 Mar 09:00 CET → Mon 17 Mar 09:00 CET" in texts
    assert all(len(t) <= 3000 for t in texts)


def test_home_view_at_slack_s_limits_trims_teams_and_keeps_my_shifts_whole() -> None:
    teams = [home()] * 2500  # a hundred-odd sections of teams: beyond Slack's 100 blocks and 250 kB
    upcoming = tuple(
        ShiftView(f"team-{i:03d}-" + "x" * 40, ALICE, HANDOVER + timedelta(hours=i), REACH) for i in range(40)
    )
    mine = MyShifts("U1", ("a@x",), (ShiftView("data", ALICE, MONDAY, HANDOVER),), upcoming, FRESH)
    yours = me_blocks.me_lines(mine, "Europe/Amsterdam", NOW, True)
    assert len(fit_sections(yours)) == 2  # the user's part itself spans two sections

    view = home_render.home_view(teams, mine, AMS, NOW, "Opsgenie", profile_known=True)

    blocks = view["blocks"]
    assert len(blocks) <= 100
    assert len(json.dumps(view).encode()) <= 250_000
    assert [b["type"] for b in blocks[:2]] == ["header", "section"]
    assert blocks[0]["text"]["text"] == "On call now"
    divider = [b["type"] for b in blocks].index("divider")
    shown = sum(b["text"]["text"].count("*data*: ") for b in blocks[1 : divider - 1])
    # the teams part gave way, and says how much of it
    assert blocks[divider - 1] == context(
        f"… and {2500 - shown} more teams: ask `/oncall <team>` for one of them."
    )
    assert blocks[divider + 1]["text"]["text"] == "Your shifts"
    assert blocks[divider + 2 :] == [
        *fit_sections(yours),
        context("Times in Europe/Amsterdam, your Slack time zone. Updated 11:37 CET."),
    ]
    assert all(b["text"]["text"].startswith("*data*: <@U0ALICE0001>") for b in blocks[1 : divider - 1])
