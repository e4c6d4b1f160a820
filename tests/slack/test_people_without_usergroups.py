"""Without user groups (free plan, missing scope) the bot still names people as Slack knows them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World, last_handover
from app.services.cycle import run_cycle
from app.services.handover import run_handover
from tests.conftest import BotFactory
from tests.slack.test_mentions import mention, thread, wait_until

ALICE, BOB, CAROL = "U0ALICE0001", "U0BOB000001", "U0CAROL0001"


@pytest.mark.parametrize("error", ["plan_upgrade_required", "missing_scope"])
def test_oncall_handover_and_escalation_show_mentions_when_usergroups_list_fails(
    sandbox: Sandbox, world: World, make_bot: BotFactory, error: str
) -> None:
    now = last_handover(utc_now()) + timedelta(minutes=1)  # carol took over from bob a minute ago
    sandbox.slack.fail("usergroups.list", error, times=100)
    bot = make_bot(world.config_text, clock=lambda: now)
    [report] = run_cycle(bot.runtime, now)
    assert report.refresh.ok
    assert report.sync.failed  # the group cannot be synced ...

    # ... but /oncall names the person on call as Slack knows them
    envelope = sandbox.slack.socket.push_command("", user_id=ALICE, channel_id=CHANNEL)
    ack = sandbox.slack.socket.wait_for_ack(envelope, timeout=3)
    assert ack.payload is not None
    shown = json.dumps(ack.payload)
    assert f"<@{CAROL}>" in shown
    assert "carol@corp.example" not in shown
    envelope = sandbox.slack.socket.push_command("week", user_id=ALICE, channel_id=CHANNEL)
    week = json.dumps(sandbox.slack.socket.wait_for_ack(envelope, timeout=3).payload)
    assert f"<@{ALICE}>" in week  # next week's person too
    assert "alice@corp.example" not in week

    # the handover names both the outgoing and the incoming person, and nobody needs attention
    outcome = run_handover(bot.runtime, bot.runtime.config.teams[0], now)
    assert outcome.status == "posted"
    [post] = [m for m in sandbox.slack.messages(CHANNEL) if m["text"].startswith("On-call handover")]
    text = json.dumps(post["blocks"])
    assert f"<@{BOB}>" in text
    assert f"<@{CAROL}>" in text
    assert "@corp.example" not in text
    assert "no active Slack account" not in text

    # and the escalation reply pings the on-call person
    _, ts = mention(sandbox, "the dashboard is empty", user=ALICE)
    [reply] = wait_until(lambda: thread(sandbox, ts))
    assert reply["text"].startswith(f"<@{CAROL}> is on call for data")
