"""Property: whatever the teams, people and text, every rendered message is one Slack accepts."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import HandoverTime, Team
from app.i18n import LANGUAGES, Translator, translator
from app.model.handover import EscalationView, HandoverView, UsergroupView
from app.model.oncall import MyShifts, ShiftView, TeamHome, TeamNow, TeamWeek
from app.model.person import Person
from app.sandbox.block_kit import block_errors
from app.slack import (
    escalation_blocks,
    handover_blocks,
    home_blocks,
    me_blocks,
    mention_blocks,
    notice_text,
    oncall_blocks,
    oncall_help,
    person_notices,
)
from app.slack.blocks import section
from app.slack.limits_check import validate_blocks, validate_message
from tests.slack.test_oncall_blocks import AMS, AS_OF, FRESH, HANDOVER, NOW

HOSTILE = st.sampled_from(
    ["<!channel>", "&", "<", ">", "<@U0ALICE0001>", "&amp;", "@here", "é\u0301", "👍🏽", "x"]
)
TEXT = st.lists(st.one_of(HOSTILE, st.text(max_size=30)), max_size=40).map("".join)
NAME = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}", fullmatch=True)
SLACK_ID = st.from_regex(r"U[A-Z0-9]{8,10}", fullmatch=True)
PERSON = st.builds(
    Person,
    pager_id=TEXT.map(lambda t: t + "@x.example"),
    slack_user_id=st.one_of(st.none(), SLACK_ID),
    name=st.one_of(st.none(), TEXT),
    status=st.sampled_from(["ok", "not_found", "deleted", "bot"]),
)
# Many long names as often as a few odd ones: Hypothesis on its own draws short lists.
NAMES = st.builds(
    lambda count, width, odd: [f"t{i:03d}-" + "x" * width for i in range(count)] + odd,
    st.integers(0, 300),
    st.integers(0, 75),
    st.lists(NAME, max_size=5),
)
CROWD = st.builds(
    lambda count, odd: [Person(f"p{i}@x.example", f"U{i:09d}", None, "ok") for i in range(count)] + odd,
    st.integers(0, 120),
    st.lists(PERSON, max_size=10),
)
# Every renderer in every language: a translation longer than its English must fit Slack's limits too.
LANGUAGE = st.sampled_from(LANGUAGES).map(translator)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def accepted(payload: dict[str, Any], surface: str = "message") -> None:
    """Both the product's validator and the sandbox's (independent) checks take the payload."""
    if surface == "message":
        validate_message(payload.get("text"), payload["blocks"])
    else:
        validate_blocks(payload["blocks"], "home")
    assert block_errors(payload["blocks"], surface=surface) == []


def team(name: str) -> Team:
    return Team(name, "s", "g", "C0DATA00001", HandoverTime(0, 9, 0), "Europe/Amsterdam")


@SETTINGS
@given(names=NAMES, word=TEXT, t=LANGUAGE)
def test_help_and_unknown_team_answers(names: list[str], word: str, t: Translator) -> None:
    accepted(oncall_help.usage(names, word, t))
    accepted(oncall_help.unknown_team(word, names[:3], names, t))
    accepted(mention_blocks.usage(names, t))
    accepted(mention_blocks.unknown_team(word, names, t))


@SETTINGS
@given(
    names=NAMES.filter(bool),
    crowd=CROWD,
    shifts=st.integers(0, 400),
    t=LANGUAGE,
)
def test_now_week_and_home(names: list[str], crowd: list[Person], shifts: int, t: Translator) -> None:
    people = tuple(crowd)
    teams = [TeamNow(team(n), people, FRESH, HANDOVER) for n in names]
    accepted(oncall_blocks.now_answer(teams, AMS, NOW, "Opsgenie", t))
    accepted(oncall_blocks.now_answer(teams[:1], AMS, NOW, "Opsgenie", t))
    half = timedelta(minutes=30)
    views = tuple(
        ShiftView(names[0], crowd[0] if crowd else Person("a@x"), NOW + i * half, NOW + (i + 1) * half)
        for i in range(shifts)
    )
    weeks = [TeamWeek(team(n), views, FRESH, NOW + timedelta(days=7)) for n in names[:20]]
    accepted(oncall_blocks.week_answer(weeks, AMS, NOW, "Opsgenie", t))
    homes = [TeamHome(t, "failed", AS_OF, "x" * 5000, people) for t in teams]
    mine = MyShifts("U1", ("a@x",), views[:3], views, FRESH, unknown_teams=tuple(names))
    accepted(home_blocks.home_view(homes, mine, AMS, NOW, "Opsgenie", profile_known=True, t=t), "view")
    accepted(me_blocks.me_answer(mine, AMS, NOW, "Opsgenie", profile_known=True, t=t))


@SETTINGS
@given(
    name=NAME,
    emails=st.lists(TEXT, max_size=150),
    ids=st.lists(st.one_of(st.none(), SLACK_ID), max_size=150),
    quotes=st.lists(TEXT, max_size=40),
    detail=TEXT,
    t=LANGUAGE,
)
def test_handover_escalation_and_notices(
    name: str, emails: list[str], ids: list[str | None], quotes: list[str], detail: str, t: Translator
) -> None:
    persons = tuple(
        Person(e, i, status="ok" if i else "not_found") for e, i in zip(emails, ids, strict=False)
    )
    escalations = tuple(
        EscalationView(NOW, "C0DATA00001", "1.2", "U0ALICE0001", q * 20, True, "https://x.slack.com/p1")
        for q in quotes
    )
    group = UsergroupView("data-oncall", "updated", NOW, tuple(i for i in ids if i), detail)
    view = HandoverView(
        name,
        "Europe/Amsterdam",
        NOW,
        NOW + timedelta(days=7),
        persons,
        persons[::-1],
        group,
        escalations,
        stale=True,
        last_success_at=NOW,
        last_error=detail * 50,
    )
    accepted(handover_blocks.handover_message(view, t))
    accepted(handover_blocks.incoming_dm(view, t))
    accepted(person_notices.identity_notice(name, "UTC", NOW, persons, t))
    accepted(person_notices.shift_change_notice(name, "UTC", NOW, None, persons, persons, t))
    pairs = [Person(e, i, status="ok" if i else "not_found") for e, i in zip(emails, ids, strict=False)]
    accepted(
        escalation_blocks.escalation_reply(
            name,
            pairs,
            reporter="U0ALICE0001",
            outcome="page",
            pager="Opsgenie",
            priority="P3",
            as_of=NOW,
            now=NOW,
            t=t,
        )
    )
    for text in (
        notice_text.nobody_on_call(name, "g", emails, t),
        notice_text.pager_unreachable(name, "g", detail * 100, NOW, None, "UTC", t),
        notice_text.sync_failed(name, "g", detail * 100, t),
        notice_text.unmapped_person(name, detail * 100, detail * 100, t),
    ):
        accepted({"text": text, "blocks": [section(text)]})


def test_a_home_tab_of_hundreds_of_teams_in_japanese_stays_under_slacks_250_kb_of_json() -> None:
    """Found by the property above: 100k characters of Japanese are 600 kB once escaped in JSON."""
    t = translator("ja")
    crowd = tuple(Person(f"p{i}@x.example", None, "障害対応" * 20, "ok") for i in range(12))
    teams = [TeamNow(team(f"t{i:03d}-" + "x" * 26), crowd, FRESH, HANDOVER) for i in range(260)]
    homes = [TeamHome(n, "failed", AS_OF, "同期に失敗しました" * 200, crowd) for n in teams]
    half = timedelta(minutes=30)
    views = tuple(ShiftView("t000", crowd[0], NOW + i * half, NOW + (i + 1) * half) for i in range(284))
    mine = MyShifts("U1", ("a@x",), views[:3], views, FRESH, unknown_teams=())
    view = home_blocks.home_view(homes, mine, AMS, NOW, "Opsgenie", profile_known=True, t=t)
    accepted(view, "view")
    assert "t000-" in json.dumps(view["blocks"])  # the teams that fit are still listed
