"""A mention pages only when it asks to: through the real bot, over the sandbox's Socket Mode and Opsgenie."""

from __future__ import annotations

import json

import pytest

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import World, teams_toml
from app.services.escalation_intent import read_intent
from tests.conftest import BotFactory
from tests.slack.test_mentions import (
    ALICE,
    BOB,
    PAGING,
    alert_posts,
    fill_cache,
    handed_over,
    mention,
    rows,
    run_job,
    thread,
    wait_until,
)


@pytest.mark.parametrize(
    ("text", "kind", "priority"),
    [
        ("page: db is down", "page", None),
        ("Page db is down", "page", None),
        ("page", "page", None),
        ("revenue dashboard empty P2", "page", "P2"),
        ("p1 checkout down", "page", "P1"),
        ("this is urgent", "page", None),
        ("緊急 DBが落ちた", "page", None),
        ("the login page is blank", "tag", None),
        ("pager is weird", "tag", None),
        ("MP3 uploads fail, see SP1 and P10", "tag", None),
        ("the dashboard is empty", "tag", None),
        ("thanks, carol is on it", "tag", None),
        ("who broke the build?", "tag", None),
        ("thanks!", "courtesy", None),
        ("Thank you so much :pray:", "courtesy", None),
        ("ty", "courtesy", None),
        ("ok", "courtesy", None),
        ("ok 👍", "courtesy", None),
        ("who is on call?", "who", None),
        ("Who's on call right now?", "who", None),
        ("who is oncall", "who", None),
        ("", "help", None),
        ("help", "help", None),
    ],
)
def test_read_intent_in_a_paging_team(text: str, kind: str, priority: str | None) -> None:
    intent = read_intent(text, team_pages=True)
    assert (intent.kind, intent.priority) == (kind, priority)


def test_page_word_is_taken_off_the_alert_text_and_a_tag_team_never_pages() -> None:
    assert read_intent("page: db is down", team_pages=True).body == "db is down"
    assert read_intent("page: db is down P1", team_pages=False).kind == "tag"
    assert read_intent("thanks!", team_pages=False).kind == "courtesy"


def test_thanks_gets_a_short_reply_tags_nobody_and_pages_nobody(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "thanks!")
    [reply] = wait_until(lambda: thread(sandbox, ts))
    assert reply["text"] == "You're welcome."
    assert "<@" not in json.dumps(reply["blocks"])
    assert rows(bot.runtime) == []
    assert sandbox.opsgenie.requests("/v2/alerts") == []


def test_who_is_on_call_gets_the_oncall_answer_in_the_thread_and_no_alert(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "who is on call?")
    [reply] = wait_until(lambda: thread(sandbox, ts))
    assert reply["text"].startswith("On call for data now:")
    assert "the team's time zone" in json.dumps(reply["blocks"])
    assert rows(bot.runtime) == []
    assert sandbox.opsgenie.requests("/v2/alerts") == []


def test_a_mention_that_does_not_ask_tags_and_says_how_to_page(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "the login page is blank")
    row = handed_over(bot.runtime, ts)
    assert row.status == "tag_only"
    [reply] = thread(sandbox, ts)
    assert reply["text"] == f"<@{BOB}> is on call for data. Not paged; mention me with page: to page."
    assert run_job(bot.runtime, ts) == 0
    assert sandbox.opsgenie.requests("/v2/alerts") == []


@pytest.mark.parametrize(
    ("text", "priority"), [("page: db is down", "P3"), ("revenue dashboard empty P2", "P2")]
)
def test_asking_to_page_raises_exactly_one_alert(
    sandbox: Sandbox, world: World, make_bot: BotFactory, text: str, priority: str
) -> None:
    bot = make_bot(PAGING)
    sandbox.opsgenie.alert_processing_polls = 0
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, text)
    assert run_job(bot.runtime, ts) == 1
    [body] = alert_posts(sandbox)
    assert body["priority"] == priority
    assert not body["message"].startswith("page")
    assert [r.status for r in rows(bot.runtime)] == ["created"]


def test_a_reply_in_an_escalated_thread_joins_it_and_raises_no_second_alert(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)
    sandbox.opsgenie.alert_processing_polls = 0
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "page: db is down")
    assert run_job(bot.runtime, ts) == 1
    assert len(thread(sandbox, ts)) == 2  # the reply and the confirmation
    mention(sandbox, "thanks, carol is on it P1", thread_ts=ts)
    replies = wait_until(lambda: len(thread(sandbox, ts)) == 3 and thread(sandbox, ts))
    assert replies[2]["text"].startswith("Added to this escalation (Opsgenie alert ")
    assert "No second alert" in replies[2]["text"]
    [note] = wait_until(lambda: [r for r in sandbox.opsgenie.requests("/notes") if r.status == 202])
    [alert] = sandbox.opsgenie.alerts()
    assert note.path == f"/v2/alerts/{alert['id']}/notes"
    assert note.body["note"] == f"alice ({ALICE}) in Slack: thanks, carol is on it P1"
    assert note.body["user"] == f"alice ({ALICE})"
    assert len(rows(bot.runtime)) == 1
    assert run_job(bot.runtime) == 0
    assert len(alert_posts(sandbox)) == 1


def test_a_tag_team_never_pages_even_when_asked(sandbox: Sandbox, world: World, make_bot: BotFactory) -> None:
    bot = make_bot(teams_toml(escalate="tag"))
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "page: db is down P1")
    row = handed_over(bot.runtime, ts)
    assert row.status == "tag_only"
    assert run_job(bot.runtime, ts) == 0
    assert sandbox.opsgenie.requests("/v2/alerts") == []


def test_over_the_limit_with_nobody_taggable_never_says_tagged_here(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot("pages_per_user_per_hour = 0\n" + PAGING)
    fill_cache(bot.runtime, utc_now(), {"ghost@corp.example": None})
    _, ts = mention(sandbox, "page: db is down")
    row = handed_over(bot.runtime, ts)
    assert row.status == "limited"
    [reply] = thread(sandbox, ts)
    blocks = json.dumps(reply["blocks"])
    assert "tagged here" not in blocks
    assert "Nobody was paged or tagged" in blocks
    assert "page the *data* team from Opsgenie directly" in blocks
    assert sandbox.opsgenie.requests("/v2/alerts") == []
