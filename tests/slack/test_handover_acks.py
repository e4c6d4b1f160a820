"""The acknowledged handover through the real bot: "Got it" pressed as Slack sends it, or not pressed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.model.buttons import GOT_IT_ACTION
from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World
from app.services.ack_followups import pending_ack
from app.services.retention import prune
from app.slack.blocks import message_text
from app.store.db import reading
from app.store.models import HandoverAck
from tests.conftest import BotFactory
from tests.services.test_shift_handovers import (
    ALICE,
    AMSTERDAM,
    BOB,
    CAROL,
    handover_posts,
    local,
    rotation_config,
    step,
    wall,
)
from tests.slack.test_mentions import wait_until

# A 12-hour rotation: alice from Monday 09:00, bob from 21:00 (his handover is the one tested).
MONDAY = local("2026-04-06", 9, AMSTERDAM)
BOB_STARTS = MONDAY + timedelta(hours=12)


class Clock:
    """The bot's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def config(ack_within: str = "30m") -> str:
    text = rotation_config(AMSTERDAM, wall(MONDAY, -timedelta(days=3), AMSTERDAM), "12h")
    return text.replace('ack_within = "off"', f'ack_within = "{ack_within}"')


def handed_over(make_bot: BotFactory, clock: Clock, ack_within: str = "30m") -> Runtime:
    """The bot at bob's shift change: the handover is posted and bob has his DM."""
    bot = make_bot(config(ack_within), clock=clock)
    clock.at = BOB_STARTS - timedelta(minutes=5)
    step(bot.runtime, clock.at)
    clock.at = BOB_STARTS
    step(bot.runtime, clock.at)
    return bot.runtime


def dms(sandbox: Sandbox, user: str, start: str) -> list[dict[str, Any]]:
    return [m for m in sandbox.slack.messages(user) if m["text"].startswith(start)]


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"] for b in message.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]
    ]


def ephemeral_texts(sandbox: Sandbox, user: str) -> list[str]:
    return [e["text"] for e in sandbox.slack.ephemerals() if e["user"] == user]


def the_post(sandbox: Sandbox) -> str:
    [post] = handover_posts(sandbox)
    return message_text(post)


def settle(runtime: Runtime, done: Callable[[], Any]) -> None:
    wait_until(done)
    runtime.background.shutdown(5)  # nothing else is still on its way


def test_got_it_pressed_by_the_incoming_person_shows_who_has_it(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    clock = Clock(BOB_STARTS)
    runtime = handed_over(make_bot, clock)
    [dm] = dms(sandbox, BOB, "You are on call")
    assert buttons(dm) == [GOT_IT_ACTION]
    assert "has it" not in the_post(sandbox)
    press = sandbox.slack.socket.push_block_action
    # Someone else presses it (a forwarded DM): told privately, nothing changes.
    press(dm, GOT_IT_ACTION, user=CAROL)
    wait_until(lambda: ephemeral_texts(sandbox, CAROL))
    only_bob = f"Only <@{BOB}> can confirm this handover; nothing was changed."
    assert ephemeral_texts(sandbox, CAROL) == [only_bob]
    assert "has it" not in the_post(sandbox)
    clock.at = BOB_STARTS + timedelta(minutes=3)
    press(dm, GOT_IT_ACTION, user=BOB)
    wait_until(lambda: "has it" in the_post(sandbox))
    assert f"\u2713 <@{BOB}> has it" in the_post(sandbox)
    [pressed] = dms(sandbox, BOB, "You are on call")
    assert buttons(pressed) == []
    assert message_text(pressed).endswith("\u2713 You have it (confirmed 21:03)")
    press(dm, GOT_IT_ACTION, user=BOB)  # a double-click, on the message as it was
    settle(runtime, lambda: ephemeral_texts(sandbox, BOB))
    assert ephemeral_texts(sandbox, BOB) == ["You have already confirmed this handover."]
    assert the_post(sandbox).count("has it") == 1
    # Confirmed: no reminder and no word in the channel later.
    for minutes in (31, 61, 120):
        clock.at = BOB_STARTS + timedelta(minutes=minutes)
        step(runtime, clock.at)
    assert dms(sandbox, BOB, "Please confirm") == []
    assert [m for m in sandbox.slack.messages(CHANNEL) if "not confirmed" in m["text"]] == []
    assert pending_ack(runtime, runtime.config.teams[0], clock.at) is None


def test_no_press_brings_one_reminder_then_the_channel_once(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    clock = Clock(BOB_STARTS)
    runtime = handed_over(make_bot, clock)
    team = runtime.config.teams[0]
    for minutes in (1, 29):
        clock.at = BOB_STARTS + timedelta(minutes=minutes)
        step(runtime, clock.at)
    assert dms(sandbox, BOB, "Please confirm") == []
    clock.at = BOB_STARTS + timedelta(minutes=30)
    step(runtime, clock.at)
    [reminder] = dms(sandbox, BOB, "Please confirm")
    assert message_text(reminder).startswith("Please confirm the *data* handover of Mon 6 Apr 21:00")
    assert buttons(reminder) == [GOT_IT_ACTION]
    pending = pending_ack(runtime, team, clock.at)
    assert pending is not None
    assert pending.channel_at == BOB_STARTS + timedelta(hours=1)
    for minutes in (31, 59):
        clock.at = BOB_STARTS + timedelta(minutes=minutes)
        step(runtime, clock.at)
    told = lambda: [m for m in sandbox.slack.messages(CHANNEL) if "not confirmed" in m["text"]]  # noqa: E731
    assert told() == []
    for minutes in (60, 61, 90):
        clock.at = BOB_STARTS + timedelta(minutes=minutes)
        step(runtime, clock.at)
    [notice] = told()
    assert message_text(notice) == (
        "The *data* handover of Mon 6 Apr 21:00 (Europe/Amsterdam) is not confirmed: "
        f"<@{BOB}> did not press *Got it* yet. <@{ALICE}>, please stay reachable until it is."
    )
    assert len(dms(sandbox, BOB, "Please confirm")) == 1
    # Bob presses the reminder's button at last: the post says he has it.
    clock.at = BOB_STARTS + timedelta(minutes=95)
    sandbox.slack.socket.push_block_action(reminder, GOT_IT_ACTION, user=BOB)
    settle(runtime, lambda: "has it" in the_post(sandbox))
    assert f"\u2713 <@{BOB}> has it" in the_post(sandbox)
    assert pending_ack(runtime, team, clock.at) is None


def test_ack_within_off_follows_nothing_up(sandbox: Sandbox, world: World, make_bot: BotFactory) -> None:
    clock = Clock(BOB_STARTS)
    runtime = handed_over(make_bot, clock, ack_within="off")
    for minutes in (30, 60, 120):
        clock.at = BOB_STARTS + timedelta(minutes=minutes)
        step(runtime, clock.at)
    [dm] = dms(sandbox, BOB, "You are on call")
    assert buttons(dm) == [GOT_IT_ACTION]  # the button still says who has it
    assert dms(sandbox, BOB, "Please confirm") == []
    assert [m for m in sandbox.slack.messages(CHANNEL) if "not confirmed" in m["text"]] == []


def test_a_press_is_pruned_with_its_handover_and_a_late_press_is_refused(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    clock = Clock(BOB_STARTS)
    runtime = handed_over(make_bot, clock)
    [dm] = dms(sandbox, BOB, "You are on call")
    sandbox.slack.socket.push_block_action(dm, GOT_IT_ACTION, user=BOB)
    wait_until(lambda: "has it" in the_post(sandbox))
    assert acks(runtime) == 1

    assert prune(runtime.sessions, 30, BOB_STARTS + timedelta(days=7)).counts["handover_acks"] == 0
    assert acks(runtime) == 1  # within the retention: kept, a second press is "already confirmed"
    assert prune(runtime.sessions, 30, BOB_STARTS + timedelta(days=31)).counts["handover_acks"] == 1
    assert acks(runtime) == 0

    sandbox.slack.socket.push_block_action(dm, GOT_IT_ACTION, user=BOB)
    wait_until(lambda: ephemeral_texts(sandbox, BOB))
    assert ephemeral_texts(sandbox, BOB) == ["I no longer know this handover; nothing was changed."]
    assert acks(runtime) == 0  # the refused press recorded nothing


def acks(runtime: Runtime) -> int:
    with reading(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(HandoverAck)) or 0)
