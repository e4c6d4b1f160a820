"""Every message kind in English and Japanese: complete, within Slack's limits, no English in Japanese."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from app.i18n import LANGUAGES, translator
from app.i18n.catalog import read_catalog
from app.model import messages as m
from app.model.buttons import EscalationButtons, GotItDone, PressDone
from app.model.handover import EscalationView, HandoverView, LayerView, UsergroupView
from app.model.oncall import Freshness, MyShifts, ShiftView, TeamHome, TeamNext, TeamNow, TeamWeek, UserZone
from app.model.person import Person
from app.sandbox.block_kit import block_errors
from app.slack import home_blocks, me_blocks, oncall_blocks, oncall_help
from app.slack.limits_check import validate_blocks, validate_message
from app.slack.render import _RENDERERS, render
from tests.slack.test_oncall_blocks import ALICE, AS_OF, BOB, DATA, FRESH, HANDOVER, NOW

ZONE = "Europe/Amsterdam"
EMOJI = re.compile(r":[a-z0-9_+-]+:")
IN = (Person("bob@corp.example", "U0BOB000001", status="ok"),)
OUT = (
    Person("alice@corp.example", "U0ALICE0001", status="ok"),
    Person("eve@corp.example", status="not_found"),
)
VIEW = HandoverView(
    "data",
    ZONE,
    HANDOVER,
    HANDOVER + timedelta(days=7),
    OUT,
    IN,
    UsergroupView("data-oncall", "updated", AS_OF, ("U0ALICE0001",)),
    (EscalationView(NOW, "C0DATA00001", "1.2", "U0CAROL0001", "disk full on db-1", True),),
    pager_change=HANDOVER + timedelta(hours=1),
    late=True,
    stale=True,
    last_success_at=AS_OF,
)
TAGGED = (
    Person("carol@corp.example", "U0CAROL0001", status="ok"),
    Person("eve@corp.example", status="not_found"),
)
PRESSED = ({"type": "section", "text": {"type": "mrkdwn", "text": "x"}},)


def every_message(language: str) -> list[m.Message]:
    """One value of each kind the bot posts (and the variants whose words differ), in ``language``."""
    reply: dict[str, Any] = {"reporter": "U0ALICE0001", "pager": "Opsgenie", "priority": "P2"}
    reply |= {"as_of": AS_OF, "now": NOW, "limit": 3}
    replies: list[m.Message] = [
        m.EscalationReply("data", people, outcome=outcome, language=language, **reply)  # type: ignore[arg-type]
        for people in (TAGGED, (), None, TAGGED[1:])
        for outcome in ("tag", "page", "dm", "limited", "offer")
    ]
    now_data = TeamNow(DATA, (ALICE,), FRESH, HANDOVER)
    return [
        m.PagerUnreachable("data", "data-oncall", "timeout", AS_OF, AS_OF, ZONE, language),
        m.PagerUnreachable("data", "data-oncall", "timeout", AS_OF, None, ZONE, language),
        m.PagerRecovered("data", AS_OF, NOW, ZONE, language),
        m.NobodyOnCall("data", "data-oncall", (), language),
        m.NobodyOnCall("data", "data-oncall", ("eve@corp.example",), language),
        m.UnmappedPerson("data", "eve@corp.example", "has no Slack account with that email", language),
        m.UnmappedPerson("data", "557058:0f1a2b3c-d5e6-4f70-8a9b-0c1d2e3f4a5b", "is a bot", language),
        m.SyncFailed("data", "data-oncall", "permission_denied", language),
        m.NeedsAdmin("data", "the channel is archived", language),
        m.HandoverPost(VIEW, language),
        m.HandoverPost(
            HandoverView("data", ZONE, HANDOVER, HANDOVER, IN, IN, UsergroupView("S0X")), language
        ),
        m.IncomingDm(VIEW, language),
        *shift_messages(language),
        m.IdentityWarning(
            m.TeamShift("data", ZONE, HANDOVER), (*OUT[1:], Person("x", "U1", status="deleted")), language
        ),
        m.ShiftChange(m.TeamShift("data", ZONE, HANDOVER), HANDOVER + timedelta(days=1), IN, OUT, language),
        m.ShiftChange(m.TeamShift("data", ZONE, HANDOVER), None, IN, OUT, language),
        *replies,
        m.PageOutcome(
            "confirmed", "Opsgenie", "42", "https://x.app.opsgenie.com/alert/42", language=language
        ),
        m.PageOutcome("confirmed", "Opsgenie", "42", language=language),
        m.PageOutcome("unconfirmed", "Opsgenie", reason="no answer", request_id="r-1", language=language),
        m.PageOutcome("failed", "Opsgenie", reason="the pager gave no reason", language=language),
        m.MentionUsage(("data", "infra"), language),
        m.MentionUnknownTeam("dtaa", ("data",), language),
        m.MentionUnknownTeam(None, ("data",), language),
        m.EscalationDm("data", "U0ALICE0001", "db is down", "P3", "C0DATA00001", None, language),
        m.EscalationDm("data", "U0ALICE0001", "db is down", "P3", "C0DATA00001", "https://x/p1", language),
        m.DmOutcome(("U0BOB000001", "U0CAROL0001"), "eve@corp.example (no active Slack account)", language),
        m.DmOutcome((), "nobody is on call for the team", language),
        m.CourtesyReply(language),
        m.WhoReply((now_data,), ZONE, NOW, "Opsgenie", language),
        m.FollowUpReply("created", "Opsgenie", "42", None, True, language),
        m.FollowUpReply("created", "JSM", "42", "https://x/42", False, language),
        m.FollowUpReply("pending", "Opsgenie", None, None, False, language),
        m.FollowUpReply("tag_only", "Opsgenie", None, None, False, language),
        m.WithButtons(replies[0], EscalationButtons(7, "page", "P2")),
        m.WithButtons(replies[0], EscalationButtons(7, "alert")),
        m.WithButtons(replies[0], EscalationButtons(7, "resolve")),
        PressDone(PRESSED, "paged", "U0BOB000001", "Opsgenie", "P1", EscalationButtons(7, "alert"), language),
        PressDone(PRESSED, "acked", "U0BOB000001", "Opsgenie", language=language),
        PressDone(PRESSED, "acked", "U0BOB000001", None, language=language),
        PressDone(PRESSED, "resolved", "U0BOB000001", "Opsgenie", language=language),
        PressDone(PRESSED, "resolved", "U0BOB000001", None, language=language),
        # an alert acknowledged or closed at the pager, outside Slack (by someone it names, or not)
        m.AlertChangedAtPager(
            m.PageOutcome("confirmed", "Opsgenie", "42", language=language),
            "Opsgenie",
            "closed",
            "dave@corp.example",
            "U0BOB000001",
            language=language,
        ),
        m.AlertChangedAtPager(
            m.PageOutcome("unconfirmed", "JSM", reason="timeout", request_id="r-1", language=language),
            "JSM",
            "closed",
            language=language,
        ),
        m.AlertChangedAtPager(
            m.PageOutcome("confirmed", "PagerDuty", "42", language=language),
            "PagerDuty",
            "acknowledged",
            "Dave",
            keep=EscalationButtons(7, "resolve"),
            language=language,
        ),
        m.AlertChangedAtPager(
            m.PageOutcome("confirmed", "Opsgenie", "42", language=language),
            "Opsgenie",
            "acknowledged",
            language=language,
        ),
    ]


def shift_messages(language: str) -> list[m.Message]:
    """The messages of per-shift handovers: layers, reminders, "Got it" and the digest."""
    layered = replace(
        VIEW,
        end=None,
        layers=(LayerView("primary", OUT[:1], IN), LayerView("secondary", IN, IN)),
    )
    change = m.ShiftChange(
        m.TeamShift("data", ZONE, HANDOVER), HANDOVER + timedelta(hours=12), OUT, IN, language
    )
    open_change = m.ShiftChange(m.TeamShift("data", ZONE, HANDOVER), None, IN, (), language)
    return [
        m.HandoverPost(layered, language, ("U0BOB000001",)),
        m.HandoverPost(VIEW, language, ("U0BOB000001", "U0CAROL0001")),
        m.IncomingDm(layered, language, "data|2026-03-30T07:00:00+00:00"),
        m.ShiftReminder(
            m.TeamShift("data", ZONE, NOW + timedelta(hours=1)), NOW + timedelta(days=1), NOW, language
        ),
        m.ShiftReminder(m.TeamShift("data", ZONE, NOW + timedelta(minutes=5)), None, NOW, language),
        m.AckReminder(m.TeamShift("data", ZONE, HANDOVER), "data|2026-03-30T07:00:00+00:00", language),
        m.AckMissing(m.TeamShift("data", ZONE, HANDOVER), IN, OUT, language),
        m.AckMissing(m.TeamShift("data", ZONE, HANDOVER), IN, (), language),
        m.GotItRefused("not_yours", ("U0BOB000001", "U0CAROL0001"), language),
        m.GotItRefused("not_yours", (), language),
        m.GotItRefused("again", (), language),
        m.GotItRefused("unknown", (), language),
        GotItDone(PRESSED, NOW, ZONE, language),
        m.ShiftDigest("data", ZONE, (change, open_change, change, change), language),
    ]


def private_answers(language: str) -> list[tuple[dict[str, Any], str]]:
    """/oncall's answers and the App Home, in ``language``: (payload, surface)."""
    t = translator(language)
    zone, unknown = UserZone(ZONE, known=True), UserZone(ZONE, known=False)
    stale = Freshness(AS_OF - timedelta(hours=3), failing_since=AS_OF, stale=True)
    infra = TeamNow(DATA, None, Freshness(None), None)
    teams = [TeamNow(DATA, (ALICE, BOB), FRESH, HANDOVER), TeamNow(DATA, (), stale, None), infra]
    shifts = (
        ShiftView("data", ALICE, NOW, HANDOVER),
        ShiftView("data", BOB, HANDOVER, HANDOVER + timedelta(7)),
    )
    nexts = [
        TeamNext(DATA, (ALICE,), HANDOVER, (BOB,), FRESH),
        TeamNext(DATA, (ALICE,), None, (), FRESH, NOW),
    ]
    week = [TeamWeek(DATA, shifts, FRESH, NOW + timedelta(days=3)), TeamWeek(DATA, (), FRESH)]
    mine = MyShifts(
        "U0ALICE0001", ("alice@corp.example",), shifts[:1], shifts[1:], FRESH, unknown_teams=("x",)
    )
    none = MyShifts("U0ALICE0001", ("alice@corp.example",), (), (), FRESH, NOW + timedelta(days=3))
    homes = [TeamHome(teams[0], "updated", AS_OF, None, ()), TeamHome(teams[1], "failed", AS_OF, "boom", ())]
    homes.append(TeamHome(teams[0], None, None, None, (BOB,)))
    return [
        (oncall_blocks.now_answer(teams[:1], zone, NOW, "Opsgenie", t), "message"),
        (oncall_blocks.now_answer(teams, unknown, NOW, "Opsgenie", t), "message"),
        (oncall_blocks.next_answer(nexts, zone, NOW, "Opsgenie", t), "message"),
        (oncall_blocks.week_answer(week, zone, NOW, "Opsgenie", t), "message"),
        (me_blocks.me_answer(mine, zone, NOW, "Opsgenie", profile_known=True, t=t), "message"),
        (me_blocks.me_answer(none, zone, NOW, "Opsgenie", profile_known=True, t=t), "message"),
        (oncall_help.usage(["data"], "wat", t), "message"),
        (oncall_help.unknown_team("dtaa", ["data"], ["data"], t), "message"),
        (oncall_help.cache_unreadable(t), "message"),
        (oncall_help.too_big(t), "message"),
        (home_blocks.home_view(homes, mine, zone, NOW, "Opsgenie", profile_known=True, t=t), "home"),
    ]


def texts(payload: dict[str, Any]) -> list[str]:
    """Every string a reader may see in a payload: the fallback and each text object, buttons included."""
    found = [payload["text"]] if isinstance(payload.get("text"), str) else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload.get("blocks"))
    return found


def english_phrases() -> set[str]:
    """The English words of the message ids, between placeholders, that no Japanese text may contain."""
    phrases = set()
    for entry in read_catalog("ja"):
        for message_id in entry.id if isinstance(entry.id, tuple) else (entry.id,):
            for piece in re.split(r"\{[^{}]*\}|`[^`]*`", message_id or ""):
                words = re.findall(r"[A-Za-z']+", piece)
                if len(words) >= 3:  # "Opsgenie alert" or "P1…P5" are names, not sentences
                    phrases.add(" ".join(words))
    return phrases


def rendered(language: str) -> list[tuple[dict[str, Any], str]]:
    return [(render(message), "message") for message in every_message(language)] + private_answers(language)


def test_the_list_covers_every_kind_the_renderer_knows() -> None:
    assert {type(message) for message in every_message("en")} == set(_RENDERERS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_kind_fits_slacks_limits_in_each_language(language: str) -> None:
    for payload, surface in rendered(language):
        if surface == "home":
            validate_blocks(payload["blocks"], "home")
        else:
            validate_message(payload.get("text"), payload["blocks"])
        assert block_errors(payload["blocks"], surface="view" if surface == "home" else surface) == []
        assert all(text.strip() for text in texts(payload)), payload


def test_no_japanese_message_is_left_with_english_sentences() -> None:
    phrases = english_phrases()
    for payload, _surface in rendered("ja"):
        for text in texts(payload):
            flat = " ".join(re.findall(r"[A-Za-z']+", EMOJI.sub(" ", text)))
            leaked = [phrase for phrase in phrases if phrase in flat]
            assert not leaked, f"{leaked} in {text!r}"
            assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text) or not re.search(
                r"[a-z]{4} [a-z]{4}", text
            ), text


def test_each_language_says_something_different_for_each_kind() -> None:
    english, japanese = rendered("en"), rendered("ja")
    for (en, _), (ja, _) in zip(english, japanese, strict=True):
        assert texts(en) != texts(ja)


def test_the_oncall_answer_in_japanese_reads_as_written() -> None:
    t = translator("ja")
    now = TeamNow(DATA, (ALICE, BOB), FRESH, HANDOVER)
    payload = oncall_blocks.now_answer([now], UserZone(ZONE, known=True), NOW, "Opsgenie", t)
    assert payload["text"] == "data の現在のオンコール担当: <@U0ALICE0001>、<@U0BOB000001>"
    assert texts(payload)[1:] == [
        "*data の現在のオンコール担当:* <@U0ALICE0001>、<@U0BOB000001>\n3月10日(月) 9:00 CET まで",
        "11:35 CET 時点(2分前)",
        "時刻はあなたの Slack のタイムゾーン(Europe/Amsterdam)で表示しています。",
    ]


def test_the_handover_post_in_japanese_reads_as_written() -> None:
    payload = render(m.HandoverPost(VIEW, "ja"))
    assert payload["text"] == (
        "data のオンコール引き継ぎ: <@U0ALICE0001>、eve@corp.example → <@U0BOB000001>、"
        "3月10日(月) 9:00 \u2013 3月17日(月) 9:00 (Europe/Amsterdam)"
    )
    assert texts(payload)[1:5] == [
        "オンコール引き継ぎ: data",
        "<@U0ALICE0001>、eve@corp.example → <@U0BOB000001>\n"
        "*シフト:* 3月10日(月) 9:00 \u2013 3月17日(月) 9:00 (Europe/Amsterdam)",
        "ページャー上のシフト交代は 3月10日(月) 10:00 で、引き継ぎ時刻の 3月10日(月) 9:00 とは異なります。",
        "遅れて投稿しました: 3月10日(月) 9:00 の時点で bot が動いていませんでした。",
    ]


def test_the_escalation_reply_and_its_buttons_in_japanese_read_as_written() -> None:
    reply = m.EscalationReply(
        "data", TAGGED[:1], "U0ALICE0001", "page", "Opsgenie", "P2", AS_OF, NOW, language="ja"
    )
    payload = render(m.WithButtons(reply, EscalationButtons(7, "alert")))
    assert texts(payload) == [
        "<@U0CAROL0001> が data のオンコール担当です。Opsgenie で呼び出しています(処理中)。",
        ":rotating_light: <@U0CAROL0001> — <@U0ALICE0001> さんが"
        "このスレッドで *data* のオンコール担当を呼んでいます。",
        "*次の対応:* Opsgenie で *data* のスケジュールを呼び出しています(P2)。呼び出しは処理中です。"
        "アラートが作成されたら、このスレッドでお知らせします。",
        "Opsgenie の情報による data のオンコール担当です(確認: 2分前)。",
        "確認する",
        "解決する",
    ]


def test_a_notice_in_japanese_keeps_its_emoji_and_its_group() -> None:
    notice = render(m.NobodyOnCall("data", "data-oncall", (), "ja"))
    assert notice["text"] == (
        ":warning: *data*: ページャー上ではオンコール担当がいません。"
        "Slack ではユーザーグループを空にできないため、 @data-oncall はそのままにしています。"
        "ページャーのスケジュールを確認してください。"
    )
