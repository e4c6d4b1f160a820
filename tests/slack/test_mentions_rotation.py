"""Escalating on a rotation team (no pager): the on-call people get one direct message each, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World, teams_toml
from app.services.cycle import run_cycle
from tests.conftest import BotFactory
from tests.slack.test_mentions import ALICE, BOB, CAROL, Clock, mention, rows, run_job, thread, wait_until

# Three layers on call together: carol (by email), bob (by Slack id) and someone Slack does not know.
LAYERS = """[teams.rotation]
people = ["carol@corp.example"]
shift = "1w"
start = "2026-01-05 09:00"
[[teams.rotation.layers]]
people = ["U0BOB000001"]
shift = "1d"
start = "2026-01-05 09:00"
[[teams.rotation.layers]]
people = ["ghost@corp.example"]
shift = "1d"
start = "2026-01-05 09:00"
"""


def dms(sandbox: Sandbox, user_id: str) -> list[dict[str, Any]]:
    """The escalation DMs the bot sent ``user_id`` (not the handover's)."""
    return [
        m for m in sandbox.slack.messages(sandbox.slack.dm_id(user_id)) if "needs the" in str(m["blocks"])
    ]


def test_each_on_call_person_gets_one_dm_and_the_thread_says_who(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    clock = Clock(utc_now())
    bot = make_bot(teams_toml(escalate="page", rotation=LAYERS), clock=clock)
    run_cycle(bot.runtime, clock.at)  # the roster refresh: the rotation's people, mapped to Slack users
    _, ts = mention(sandbox, "payments <!channel> fail since 10:00 P1", event_id="EvROT0000001")
    [reply] = wait_until(lambda: thread(sandbox, ts))
    assert f"<@{CAROL}>" in reply["text"]
    assert f"<@{BOB}>" in reply["text"]
    assert reply["text"].endswith("No pager: messaging the on-call people directly (pending).")

    assert run_job(bot.runtime, ts) == 1
    [to_carol], [to_bob] = dms(sandbox, CAROL), dms(sandbox, BOB)
    shown = str(to_carol["blocks"])
    assert f"<@{ALICE}> needs the *data* on-call person (P1) in <#{CHANNEL}>" in shown
    # Quoted as plain text: the special mention is defused (a word joiner after the @), never a ping.
    assert to_carol["blocks"][1]["text"]["text"] == "> payments @\u2060channel fail since 10:00 P1"
    assert "<!channel>" not in shown
    assert f"<https://sandbox.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}|Open the thread>" in shown
    assert to_bob["blocks"] == to_carol["blocks"]
    [_, outcome] = thread(sandbox, ts)
    assert outcome["text"] == (
        f"No pager to call: I sent <@{CAROL}> and <@{BOB}> a direct message with this message "
        "and a link to this thread."
    )
    assert "Not reached directly: ghost@corp.example (no active Slack account)" in str(outcome["blocks"])
    [row] = rows(bot.runtime)
    assert (row.status, row.alert_id, row.next_attempt_at) == ("notified", None, None)
    assert sandbox.opsgenie.requests("/v2/alerts") == []  # no pager anywhere

    # The job again, a redelivery of the mention: nothing more is sent.
    mention(sandbox, "payments <!channel> fail since 10:00 P1", ts=ts, event_id="EvROT0000001")
    assert run_job(bot.runtime, at=clock.at + timedelta(hours=1)) == 0
    assert (len(dms(sandbox, CAROL)), len(dms(sandbox, BOB)), len(thread(sandbox, ts))) == (1, 1, 2)


def test_a_refused_dm_is_retried_later_and_sent_once(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    clock = Clock(utc_now())
    carol_only = LAYERS.split("[[teams.rotation.layers]]", maxsplit=1)[0]
    bot = make_bot(teams_toml(escalate="page", rotation=carol_only), clock=clock)
    run_cycle(bot.runtime, clock.at)
    _, ts = mention(sandbox, "page: disk full")
    wait_until(lambda: thread(sandbox, ts))
    sandbox.slack.fail("chat.postMessage", "internal_error")  # Slack refuses the DM, once

    assert run_job(bot.runtime, ts, at=clock.at) == 1
    [row] = rows(bot.runtime)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "carol@corp.example" in (row.last_error or "")
    assert dms(sandbox, CAROL) == []
    assert len(thread(sandbox, ts)) == 1  # no outcome yet: it is still being tried

    assert run_job(bot.runtime, at=clock.at + timedelta(seconds=11)) == 1
    assert len(dms(sandbox, CAROL)) == 1
    [row] = rows(bot.runtime)
    assert (row.status, row.last_error) == ("notified", None)
    assert thread(sandbox, ts)[1]["text"].startswith(f"No pager to call: I sent <@{CAROL}> a direct message")
    assert run_job(bot.runtime, at=clock.at + timedelta(minutes=10)) == 0
    assert len(dms(sandbox, CAROL)) == 1


def test_nobody_reachable_fails_with_a_sentence_in_the_thread(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    only_ghost = (
        '[teams.rotation]\npeople = ["ghost@corp.example"]\nshift = "1w"\nstart = "2026-01-05 09:00"\n'
    )
    bot = make_bot(teams_toml(escalate="page", rotation=only_ghost))
    run_cycle(bot.runtime, utc_now())
    _, ts = mention(sandbox, "page: help me")
    assert run_job(bot.runtime, ts) == 1
    [row] = rows(bot.runtime)
    assert row.status == "failed"
    outcome = thread(sandbox, ts)[1]
    assert outcome["text"] == (
        "No pager to call, and I could not message the on-call people directly: "
        "ghost@corp.example (no active Slack account)"
    )
