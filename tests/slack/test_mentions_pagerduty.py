"""Escalation of a PagerDuty team end to end: app_mention over Socket Mode, the real bot, the Events API."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import pytest

from app.runtime import utc_now
from app.sandbox import PAGERDUTY_ROUTING_KEY, Sandbox
from app.sandbox.world import CHANNEL, SCHEDULE, World, teams_toml
from app.services.escalation import retry_pending_pages
from tests.conftest import BotFactory, RuntimeFactory
from tests.slack.test_mentions import BOB, Clock, fill_cache, handed_over, mention, rows, run_job, saw_repeat
from tests.slack.test_mentions import thread as in_thread

PAGING = teams_toml('provider = "pagerduty"\n', escalate="page")


@pytest.fixture
def pagerduty(sandbox: Sandbox, world: World) -> Sandbox:
    """The seeded workspace: PagerDuty holds team data's weekly rotation under the same schedule name."""
    assert sandbox.pagerduty.on_call_at(SCHEDULE, utc_now()) == sandbox.opsgenie.on_call_at(
        SCHEDULE, utc_now()
    )
    return sandbox


def test_a_mention_pages_once_through_the_events_api_and_confirms(
    pagerduty: Sandbox, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    text = "checkout returns 502 since 10:14, P2"
    _, ts = mention(pagerduty, text)
    [pending] = wait_replies(pagerduty, ts, 1)
    assert pending["text"] == f"<@{BOB}> is on call for data. Paging through PagerDuty (pending)."
    assert pagerduty.pagerduty.requests() == []  # the listener leaves the pager to the job

    assert run_job(bot.runtime, ts) == 1
    [event] = pagerduty.pagerduty.events()
    dedup_key = f"slack-{CHANNEL}-{ts}"
    permalink = f"https://sandbox.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"
    assert (event["routing_key"], event["event_action"], event["dedup_key"]) == (
        PAGERDUTY_ROUTING_KEY,
        "trigger",
        dedup_key,
    )
    payload = event["payload"]
    assert (payload["summary"], payload["severity"], payload["source"]) == (text, "error", "oncall-bot")
    assert payload["custom_details"]["permalink"] == permalink
    assert event["links"] == [{"href": permalink, "text": "Slack thread"}]
    replies = in_thread(pagerduty, ts)
    assert replies[1]["text"] == (
        f"Paged: PagerDuty alert {dedup_key} created; the on-call people are being notified."
    )
    [row] = rows(bot.runtime)
    assert (row.status, row.alert_id) == ("created", dedup_key)
    assert "I am paging the *data* schedule in PagerDuty (P2)" in json.dumps(replies[0]["blocks"])


def test_a_redelivered_mention_sends_no_second_event(
    pagerduty: Sandbox, make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.services")
    bot = make_bot(PAGING)
    envelope, ts = mention(pagerduty, "page: nightly load failed", event_id="Ev0PDREPEAT1")
    handed_over(bot.runtime, ts)
    pagerduty.slack.socket.redeliver(envelope)  # Slack retries: the ack was late
    assert run_job(bot.runtime, ts) == 1
    pagerduty.slack.socket.redeliver(envelope, retry_reason="http_error")  # and again, after the page
    wait_until_repeats(caplog, 2)
    assert run_job(bot.runtime, ts) == 0
    assert len(pagerduty.pagerduty.events()) == 1
    assert len(pagerduty.pagerduty.incidents()) == 1
    assert len(in_thread(pagerduty, ts)) == 2


def test_events_api_down_the_page_waits_and_goes_out_once_when_back(
    pagerduty: Sandbox, make_bot: BotFactory
) -> None:
    clock = Clock(utc_now())
    bot = make_bot(PAGING, clock=clock, fast=True)
    pagerduty.pagerduty.down = True
    _, ts = mention(pagerduty, "page: orders API returns 500")
    assert run_job(bot.runtime, ts, at=clock.at) == 1
    [row] = rows(bot.runtime)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "PagerDuty unreachable" in (row.last_error or "")
    assert pagerduty.pagerduty.events() == []
    pagerduty.pagerduty.down = False
    assert retry_pending_pages(bot.runtime, clock.at + timedelta(minutes=1)) == 1
    assert retry_pending_pages(bot.runtime, clock.at + timedelta(minutes=2)) == 0
    assert len(pagerduty.pagerduty.events()) == 1
    assert rows(bot.runtime)[0].status == "created"


def test_a_page_whose_answer_was_lost_opens_one_incident_when_retried(
    pagerduty: Sandbox, make_bot: BotFactory, make_runtime: RuntimeFactory
) -> None:
    # PagerDuty processes the event but the answer never arrives (the client gave up first): the outcome is
    # unknown, so the job tries again later with the same dedup_key, and PagerDuty folds it into the incident.
    bot = make_bot(PAGING, fast=True)
    pagerduty.pagerduty.hang(1.0, times=2)
    _, ts = mention(pagerduty, "page: disk full on etl-1")
    assert run_job(bot.runtime, ts) == 1
    assert rows(bot.runtime)[0].status == "pending"
    deadline = time.monotonic() + 5
    while len(pagerduty.pagerduty.events()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # the two timed-out attempts are still processed by PagerDuty, late
    bot.stop()
    restarted = make_runtime(PAGING)
    assert retry_pending_pages(restarted, utc_now() + timedelta(minutes=1)) == 1
    assert [(i["dedup_key"], i["status"]) for i in pagerduty.pagerduty.incidents()] == [
        (f"slack-{CHANNEL}-{ts}", "triggered")
    ]
    assert rows(restarted)[0].status == "created"
    assert [m["text"].split(" ")[0] for m in in_thread(pagerduty, ts)][-1] == "Paged:"


def wait_replies(sandbox: Sandbox, ts: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 5
    while len(in_thread(sandbox, ts)) < count:
        assert time.monotonic() < deadline, "the reply did not come"
        time.sleep(0.02)
    return in_thread(sandbox, ts)


def wait_until_repeats(caplog: pytest.LogCaptureFixture, count: int) -> None:
    deadline = time.monotonic() + 5
    while not saw_repeat(caplog, count):
        assert time.monotonic() < deadline, "the repeats were not seen"
        time.sleep(0.02)
