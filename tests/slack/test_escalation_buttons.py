"""The escalation's buttons pressed as Slack sends them (interactive envelopes), through the real bot."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk import WebClient

from app.runtime import utc_now
from app.sandbox import BOT_TOKEN, Sandbox
from app.sandbox.world import CHANNEL, World, teams_toml
from app.slack import escalation_buttons, page_blocks
from tests.conftest import BotFactory
from tests.slack.test_mentions import (
    ALICE,
    BOB,
    CAROL,
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

GUEST = "U0GUEST0001"


def _button_ids(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def _ephemerals_to(sandbox: Sandbox, user: str) -> list[str]:
    return [e["text"] for e in sandbox.slack.ephemerals(CHANNEL) if e["user"] == user]


def _acks_for(sandbox: Sandbox, envelope: str) -> None:
    assert sandbox.slack.socket.wait_for_ack(envelope).payload in (None, {})


def test_the_page_button_pages_once_however_often_it_is_pressed(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)
    sandbox.opsgenie.alert_processing_polls = 0
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "the revenue dashboard is empty")
    handed_over(bot.runtime, ts)
    [reply] = thread(sandbox, ts)
    assert _button_ids(reply) == [
        escalation_buttons.PAGE_ACTION,
        escalation_buttons.PRIORITY_ACTION,
        escalation_buttons.RESOLVE_ACTION,
    ]
    press = sandbox.slack.socket.push_block_action
    first = press(
        reply, escalation_buttons.PAGE_ACTION, user=ALICE, chosen={escalation_buttons.PRIORITY_ACTION: "P2"}
    )
    _acks_for(sandbox, first)
    wait_until(lambda: rows(bot.runtime)[0].status == "pending")
    # A double-click and a second person on the message as it was before the update: no second page.
    press(reply, escalation_buttons.PAGE_ACTION, user=ALICE)
    press(reply, escalation_buttons.PAGE_ACTION, user=CAROL)
    wait_until(lambda: len(sandbox.slack.ephemerals(CHANNEL)) == 2)
    assert all("already paged" in e["text"] for e in sandbox.slack.ephemerals(CHANNEL))
    assert run_job(bot.runtime, ts) == 1
    assert run_job(bot.runtime) == 0
    [body] = alert_posts(sandbox)
    assert body["priority"] == "P2"
    assert body["user"] == f"alice ({ALICE})"  # the presser is credited at the pager
    [row] = rows(bot.runtime)
    assert (row.status, row.paged_by) == ("created", ALICE)
    updated = thread(sandbox, ts)[0]
    assert _button_ids(updated) == []
    assert f"<@{ALICE}> asked to page (P2)" in json.dumps(updated["blocks"])


def test_a_page_pressed_before_the_listener_let_go_of_its_row_still_pages(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    # The reply (and its button) is in Slack before the listener has recorded it and released the row:
    # a press in that moment (a quick click, a replica answering faster than the listener) must page.
    # The listener is held there: its permalink request is answered once the press has been handled.
    bot = make_bot(PAGING)
    sandbox.opsgenie.alert_processing_polls = 0
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    sandbox.slack.answer_together("chat.getPermalink", 2, timeout=30)
    _, ts = mention(sandbox, "the revenue dashboard is empty")
    [reply] = wait_until(lambda: thread(sandbox, ts))
    wait_until(lambda: sandbox.slack.held("chat.getPermalink") == 1)
    assert rows(bot.runtime)[0].lease_token is not None  # the listener still holds the row
    first = sandbox.slack.socket.push_block_action(reply, escalation_buttons.PAGE_ACTION, user=ALICE)
    _acks_for(sandbox, first)
    wait_until(lambda: rows(bot.runtime)[0].status == "pending" or sandbox.slack.ephemerals(CHANNEL))
    assert sandbox.slack.ephemerals(CHANNEL) == []  # not "busy; try again": nothing would be paged
    WebClient(token=BOT_TOKEN, base_url=sandbox.slack.api_url).chat_getPermalink(
        channel=CHANNEL, message_ts=ts
    )
    assert run_job(bot.runtime, ts) == 1  # due once the listener let go, not filed as done
    assert len(alert_posts(sandbox)) == 1
    [row] = rows(bot.runtime)
    assert (row.status, row.paged_by, row.lease_token) == ("created", ALICE, None)
    assert len(thread(sandbox, ts)) == 2  # one reply, one outcome


def test_a_guest_cannot_page_by_word_or_by_button(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "page: db is down P1", user=GUEST)
    row = handed_over(bot.runtime, ts)
    assert row.status == "tag_only"
    [told] = wait_until(lambda: _ephemerals_to(sandbox, GUEST))
    assert told.startswith("Guests and bots cannot page")
    [reply] = thread(sandbox, ts)
    sandbox.slack.socket.push_block_action(reply, escalation_buttons.PAGE_ACTION, user=GUEST)
    wait_until(lambda: len(_ephemerals_to(sandbox, GUEST)) == 2)
    assert _ephemerals_to(sandbox, GUEST)[1].startswith("Guests cannot page")
    assert run_job(bot.runtime) == 0
    assert sandbox.opsgenie.requests("/v2/alerts") == []
    assert rows(bot.runtime)[0].status == "tag_only"


def test_a_team_may_let_guests_page(sandbox: Sandbox, world: World, make_bot: BotFactory) -> None:
    bot = make_bot(teams_toml(escalate="page") + "guests_may_page = true\n")
    sandbox.opsgenie.alert_processing_polls = 0
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "page: db is down", user=GUEST)
    assert run_job(bot.runtime, ts) == 1
    assert len(alert_posts(sandbox)) == 1


def test_acknowledge_and_resolve_reach_opsgenie_and_update_the_message(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)
    sandbox.opsgenie.alert_processing_polls = 0
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "page: checkout is down")
    assert run_job(bot.runtime, ts) == 1
    outcome = thread(sandbox, ts)[1]
    assert _button_ids(outcome) == [escalation_buttons.ACK_ACTION, escalation_buttons.RESOLVE_ACTION]
    [alert] = sandbox.opsgenie.alerts()

    sandbox.slack.socket.push_block_action(outcome, escalation_buttons.ACK_ACTION, user=BOB)
    acks = wait_until(lambda: [r for r in sandbox.opsgenie.requests("/acknowledge") if r.status == 202])
    assert acks[0].path == f"/v2/alerts/{alert['id']}/acknowledge"
    assert acks[0].body["user"] == f"bob ({BOB})"
    updated = wait_until(lambda: (m := thread(sandbox, ts)[1]) and "Acknowledged by" in json.dumps(m) and m)
    assert _button_ids(updated) == [escalation_buttons.RESOLVE_ACTION]
    sandbox.slack.socket.push_block_action(outcome, escalation_buttons.ACK_ACTION, user=CAROL)  # too late
    wait_until(lambda: _ephemerals_to(sandbox, CAROL))
    assert len([r for r in sandbox.opsgenie.requests("/acknowledge") if r.status == 202]) == 1

    sandbox.slack.socket.push_block_action(updated, escalation_buttons.RESOLVE_ACTION, user=BOB)
    closes = wait_until(lambda: [r for r in sandbox.opsgenie.requests("/close") if r.status == 202])
    assert closes[0].path == f"/v2/alerts/{alert['id']}/close"
    resolved = wait_until(lambda: (m := thread(sandbox, ts)[1]) and "Resolved by" in json.dumps(m) and m)
    assert _button_ids(resolved) == []
    [row] = rows(bot.runtime)
    assert (row.acked_by, row.closed_by) == (BOB, BOB)
    assert row.closed_at is not None


def test_a_tag_only_escalation_is_open_until_resolved(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(world.config_text)  # a tag team
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "the nightly load failed")
    handed_over(bot.runtime, ts)
    [reply] = thread(sandbox, ts)
    assert _button_ids(reply) == [escalation_buttons.RESOLVE_ACTION]
    assert rows(bot.runtime)[0].closed_at is None
    sandbox.slack.socket.push_block_action(reply, escalation_buttons.RESOLVE_ACTION, user=BOB)
    wait_until(lambda: rows(bot.runtime)[0].closed_at is not None)
    assert rows(bot.runtime)[0].closed_by == BOB
    assert sandbox.opsgenie.requests("/v2/alerts") == []


def test_the_confirmation_links_to_the_alert_when_the_pager_has_an_address() -> None:
    linked = page_blocks.page_confirmed("abc-1", pager="Opsgenie", url="https://acme.app.opsgenie.com/x")
    assert "<https://acme.app.opsgenie.com/x|Opsgenie alert abc-1>" in json.dumps(linked["blocks"])
    bare = page_blocks.page_confirmed("abc-1", pager="Opsgenie")
    assert "`abc-1`" in json.dumps(bare["blocks"])
