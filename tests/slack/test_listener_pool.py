"""Slow Slack calls after events (App Home, mention replies) never delay a /oncall ack."""

from __future__ import annotations

from datetime import timedelta

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World
from app.services.cycle import run_cycle
from tests.conftest import BotFactory

ALICE = "U0ALICE0001"


def test_a_slow_slack_behind_home_opens_and_mentions_does_not_delay_oncall_acks(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(world.config_text)
    run_cycle(bot.runtime, utc_now() - timedelta(minutes=1))
    sandbox.slack.latency = 1.5  # every Web API call now takes 1.5 s; Socket Mode itself is healthy
    try:
        for i in range(6):  # more than Bolt's 5 listener threads
            sandbox.slack.socket.push_event(
                {"type": "app_home_opened", "user": f"U0HOME{i:05d}", "channel": "D0HOME00001", "tab": "home"}
            )
            sandbox.slack.socket.push_event(
                {
                    "type": "app_mention",
                    "user": ALICE,
                    "text": f"<@UBOT> help me {i}",
                    "channel": CHANNEL,
                    "ts": f"1790000000.{i:06d}",
                }
            )
        acks = []
        for _ in range(3):
            envelope = sandbox.slack.socket.push_command("", user_id=ALICE, channel_id=CHANNEL)
            acks.append(sandbox.slack.socket.wait_for_ack(envelope, timeout=10))
    finally:
        sandbox.slack.latency = 0.0
    assert all(ack.latency < 1.0 for ack in acks), [round(a.latency, 2) for a in acks]
    assert all("On call" in str(ack.payload) for ack in acks)
