"""Escalation end to end: app_mention over the sandbox's Socket Mode, the real bot, Opsgenie over HTTP."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.runtime import Runtime, utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, OTHER_CHANNEL, SCHEDULE, World, teams_toml
from app.services.escalation import retry_pending_pages
from app.services.escalation_lease import SLACK_CALL_MAX
from app.store.models import Escalation, Notice, PersonRow
from app.store.repo import record_on_call, team_state
from tests.conftest import BotFactory, RuntimeFactory

ALICE, BOB, CAROL, DAVE = "U0ALICE0001", "U0BOB000001", "U0CAROL0001", "U0DAVE00001"
BOT = "UBOT"
PAGING = teams_toml(escalate="page")
_TS = itertools.count(100)


# ---- helpers shared with tests/services/test_escalation.py ---------------------------------------


def new_ts() -> str:
    """A message timestamp unique within the test run."""
    return f"{int(time.time())}.{next(_TS):06d}"


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``predicate`` until it is truthy (the listener runs after the ack, in its own thread)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            assert value, "condition not reached in time"
            return value
        time.sleep(0.02)


def fill_cache(runtime: Runtime, now: datetime, people: dict[str, str | None], team: str = "data") -> None:
    """Store who is on call (email → Slack id, None when unmapped) as the roster refresh would."""
    with runtime.sessions.begin() as session:
        record_on_call(session, team, list(people), now)
        state = team_state(session, team)
        state.last_attempt_at = state.last_success_at = now
        for email, user_id in people.items():
            status = "ok" if user_id else "not_found"
            row = PersonRow(
                pager_id=email, slack_user_id=user_id, source="lookup", status=status, checked_at=now
            )
            session.merge(row)


def rows(runtime: Runtime) -> list[Escalation]:
    """Every escalation row, oldest first."""
    with runtime.sessions() as session:
        return list(session.scalars(select(Escalation).order_by(Escalation.id)))


def thread(sandbox: Sandbox, thread_ts: str, channel: str = CHANNEL) -> list[dict[str, Any]]:
    """The bot's messages in one thread."""
    return [m for m in sandbox.slack.messages(channel) if m.get("thread_ts") == thread_ts]


def alert_posts(sandbox: Sandbox) -> list[Any]:
    """The POST /v2/alerts bodies Opsgenie accepted (202)."""
    return [
        r.body
        for r in sandbox.opsgenie.requests("/v2/alerts")
        if r.method == "POST" and r.path == "/v2/alerts" and r.status == 202
    ]


def handed_over(runtime: Runtime, ts: str) -> Escalation:
    """Wait until the listener has replied to the mention ``ts`` and let go of its row (no longer leased)."""

    def released() -> Escalation | None:
        mine = [r for r in rows(runtime) if r.message_ts == ts]
        return next((r for r in mine if r.lease_token is None), None)

    return wait_until(released)


def run_job(runtime: Runtime, *tss: str, at: datetime | None = None) -> int:
    """Run the page job once, as the 15-second scheduler does, after the listener handed ``tss`` over."""
    for ts in tss:
        handed_over(runtime, ts)
    # The listener caches the asker's profile in the background (the alert names them from it).
    assert runtime.background.drain(timeout=10)
    return retry_pending_pages(runtime, at or runtime.now())


@dataclass
class Clock:
    """A clock the test moves by hand."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


def mention(
    sandbox: Sandbox,
    text: str,
    *,
    user: str = ALICE,
    channel: str = CHANNEL,
    ts: str | None = None,
    thread_ts: str | None = None,
    event_id: str | None = None,
    connection: int | None = None,
) -> tuple[str, str]:
    """Mention the bot as a user would; returns (envelope id, message ts)."""
    ts = ts or new_ts()
    event: dict[str, Any] = {"type": "app_mention", "user": user, "text": f"<@{BOT}> {text}".rstrip()}
    event.update(ts=ts, channel=channel)
    if thread_ts:
        event["thread_ts"] = thread_ts
    envelope = sandbox.slack.socket.push_event(event, event_id=event_id, connection=connection)
    return envelope, ts


def saw_repeat(caplog: pytest.LogCaptureFixture, count: int = 1) -> bool:
    """True once ``count`` repeat deliveries were recognised and dropped."""
    return sum("ignoring the repeat" in r.getMessage() for r in caplog.records) >= count


# ---- tag only ----------------------------------------------------------------------------------------


def test_mention_tags_the_on_call_person_in_a_thread(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(world.config_text)
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "the revenue dashboard is empty since 9:00")

    [reply] = wait_until(lambda: thread(sandbox, ts))
    assert reply["channel"] == CHANNEL
    assert reply["text"] == f"<@{BOB}> is on call for data. This team does not page from Slack."
    blocks = json.dumps(reply["blocks"])
    assert f"<@{ALICE}> needs the *data* on-call person" in blocks
    assert "checked just now" in blocks
    [row] = wait_until(lambda: [r for r in rows(bot.runtime) if r.permalink])
    assert (row.status, row.team, row.user_id, row.channel) == ("tag_only", "data", ALICE, CHANNEL)
    assert (row.text, row.on_call, row.reply_ts) == (
        "the revenue dashboard is empty since 9:00",
        ["bob@corp.example"],
        reply["ts"],
    )
    assert row.permalink == f"https://sandbox.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"
    assert sandbox.opsgenie.requests("/v2/alerts") == []


def test_mention_inside_a_thread_replies_in_that_thread(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(world.config_text)
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB, "nobody@corp.example": None})
    parent = new_ts()
    _, ts = mention(sandbox, "still broken", thread_ts=parent)

    [reply] = wait_until(lambda: thread(sandbox, parent))
    assert thread(sandbox, ts) == []
    assert reply["text"].startswith(
        f"<@{BOB}> and nobody@corp.example (no active Slack account, so not pinged) are on call"
    )
    [row] = rows(bot.runtime)
    assert (row.message_ts, row.thread_ts) == (ts, parent)


def test_mention_before_the_pager_answered_says_no_data_yet(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    make_bot(world.config_text)
    _, ts = mention(sandbox, "db down")
    [reply] = wait_until(lambda: thread(sandbox, ts))
    assert reply["text"] == "No on-call data yet for data. This team does not page from Slack."


@pytest.mark.parametrize("text", ["", "help", "  HELP ", "data", "data: help"])
def test_empty_mention_or_help_gets_the_usage_once(
    sandbox: Sandbox, world: World, make_bot: BotFactory, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    caplog.set_level(logging.INFO, logger="app.services")
    bot = make_bot(world.config_text)
    envelope, ts = mention(sandbox, text, event_id="EvHELP0001")
    [reply] = wait_until(lambda: thread(sandbox, ts))
    assert reply["text"].startswith("How to escalate")
    sandbox.slack.socket.redeliver(envelope)
    wait_until(lambda: saw_repeat(caplog))
    assert len(thread(sandbox, ts)) == 1
    assert rows(bot.runtime) == []


def test_channel_of_no_team_with_several_teams_asks_which_team(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    infra = '\n[[teams]]\nname = "infra"\nschedule = "infra_sched"\nusergroup = "infra-oncall"\n'
    infra += 'channel = "C0INFRA0001"\n'
    bot = make_bot(world.config_text + infra)
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})

    _, lost = mention(sandbox, "sales: the CRM sync is stuck", channel=OTHER_CHANNEL)
    [reply] = wait_until(lambda: thread(sandbox, lost, OTHER_CHANNEL))
    assert reply["text"].startswith("I know no team called sales.")

    _, found = mention(sandbox, "DATA: the CRM sync is stuck", channel=OTHER_CHANNEL)
    [reply] = wait_until(lambda: thread(sandbox, found, OTHER_CHANNEL))
    assert reply["text"].startswith(f"<@{BOB}> is on call for data.")
    [row] = rows(bot.runtime)
    assert (row.team, row.channel, row.text) == ("data", OTHER_CHANNEL, "the CRM sync is stuck")


def test_a_refused_reply_is_posted_by_the_job_once_even_without_paging(
    sandbox: Sandbox, world: World, make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.services")
    bot = make_bot(world.config_text)  # tag only
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    sandbox.slack.fail("chat.postMessage", "not_in_channel", times=1)  # the bot was not invited yet
    envelope, ts = mention(sandbox, "the revenue dashboard is empty since 9:00", event_id="Ev0REFUSED1")

    row = handed_over(bot.runtime, ts)
    assert (row.status, row.reply_ts, row.post_attempts) == ("tag_only", None, 1)
    assert row.next_attempt_at == row.created_at  # left due for the job
    sandbox.slack.socket.redeliver(envelope)  # Slack's retry is dropped on the event id ...
    wait_until(lambda: saw_repeat(caplog))
    assert thread(sandbox, ts) == []

    assert run_job(bot.runtime, ts) == 1  # ... so the job posts the missing reply
    [reply] = thread(sandbox, ts)
    assert reply["text"] == f"<@{BOB}> is on call for data. This team does not page from Slack."
    assert run_job(bot.runtime, ts, at=utc_now() + timedelta(hours=1)) == 0
    assert len(thread(sandbox, ts)) == 1
    [row] = rows(bot.runtime)
    assert (row.status, row.reply_ts, row.next_attempt_at) == ("tag_only", reply["ts"], None)


# ---- paging ------------------------------------------------------------------------------------------


def test_mention_pages_once_with_the_full_alert_and_confirms_in_the_thread(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    text = "the revenue dashboard is empty since 9:00, P2 please (not P4)"
    _, ts = mention(sandbox, text)

    [pending] = wait_until(lambda: thread(sandbox, ts))
    assert sandbox.opsgenie.requests() == []  # the listener leaves the pager to the job
    assert run_job(bot.runtime, ts) == 1
    replies = thread(sandbox, ts)
    assert replies[0] == pending
    [alert] = sandbox.opsgenie.alerts()
    assert replies[0]["text"] == f"<@{BOB}> is on call for data. Paging through Opsgenie (pending)."
    assert "I am paging the *data* schedule in Opsgenie (P2)" in json.dumps(replies[0]["blocks"])
    assert replies[1]["text"] == (
        f"Paged: Opsgenie alert {alert['id']} created; the on-call people are being notified."
    )
    permalink = f"https://sandbox.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"
    [body] = alert_posts(sandbox)
    assert body == {
        "message": text,
        # The guest check cached alice's profile: the alert names her and credits her as its user.
        "description": (
            f"{text}\n\nReported in Slack by alice ({ALICE}) in channel {CHANNEL}.\nThread: {permalink}"
        ),
        "user": f"alice ({ALICE})",
        "alias": f"slack-{CHANNEL}-{ts}",
        "responders": [{"type": "schedule", "name": SCHEDULE}],
        "priority": "P2",
        "source": "oncall-bot",
        "tags": ["oncall-bot", "slack", "data"],
        "details": {
            "channel": CHANNEL,
            "ts": ts,
            "thread_ts": ts,
            "user": ALICE,
            "team": "data",
            "permalink": permalink,
        },
    }
    [row] = rows(bot.runtime)
    assert (row.status, row.alert_id, row.priority, row.permalink) == (
        "created",
        alert["id"],
        "P2",
        permalink,
    )
    assert row.resolved_at is not None
    assert (row.next_attempt_at, row.outcome_ts) == (None, replies[1]["ts"])
    assert run_job(bot.runtime, ts) == 0


def test_long_text_is_cut_to_130_characters_in_the_message_only(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)
    sandbox.opsgenie.alert_processing_polls = 0
    text = "word " * 60 + "\nsecond line"
    _, ts = mention(sandbox, "page: " + text)
    assert run_job(bot.runtime, ts) == 1
    assert len(thread(sandbox, ts)) == 2
    [body] = alert_posts(sandbox)
    assert body["message"] == ("word " * 26).strip()[:130]
    assert len(body["message"]) <= 130
    assert body["description"].startswith(text.strip())
    assert body["priority"] == "P3"  # the team's default
    assert rows(bot.runtime)[0].text == text.strip()


def test_hostile_text_never_reaches_slack_unescaped(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)
    sandbox.opsgenie.alert_processing_polls = 0
    fill_cache(bot.runtime, utc_now(), {"<!channel>@evil.example": None, "bob@corp.example": BOB})
    # What Slack sends when someone types "@channel @here <b>&" and mentions dave.
    _, ts = mention(sandbox, f"<!channel> <!here> <!everyone> <@{DAVE}> &lt;b&gt; &amp; P1")

    assert run_job(bot.runtime, ts) == 1
    replies = thread(sandbox, ts)
    assert len(replies) == 2
    raw = json.dumps(replies)
    for token in ("<!channel", "<!here", "<!everyone", f"<@{DAVE}>"):
        assert token not in raw
    assert "&lt;!channel&gt;@evil.example" in raw
    [body] = alert_posts(sandbox)
    assert body["message"] == f"@channel @here @everyone @{DAVE} <b> & P1"
    assert body["priority"] == "P1"
    assert rows(bot.runtime)[0].text == body["message"]


def test_redelivered_event_replies_and_pages_once(
    sandbox: Sandbox, world: World, make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.services")
    bot = make_bot(PAGING)
    sandbox.opsgenie.alert_processing_polls = 0
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    envelope, ts = mention(sandbox, "page: nightly load failed", event_id="Ev0REPEAT01")
    handed_over(bot.runtime, ts)

    again = sandbox.slack.socket.redeliver(envelope)  # retry_attempt 1, x-slack-retry-num: 1
    assert sandbox.slack.socket.wait_for_ack(again).envelope_id == again
    wait_until(lambda: saw_repeat(caplog))
    assert run_job(bot.runtime, ts) == 1
    again = sandbox.slack.socket.redeliver(envelope, retry_reason="http_error")  # after the page
    wait_until(lambda: saw_repeat(caplog, 2))
    assert run_job(bot.runtime, ts) == 0
    assert len(thread(sandbox, ts)) == 2
    assert len(alert_posts(sandbox)) == 1
    assert len(rows(bot.runtime)) == 1


def test_same_event_on_two_connections_replies_and_pages_once(
    sandbox: Sandbox, world: World, make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.services")
    first = make_bot(PAGING)
    make_bot(PAGING)  # a second replica on the same database
    sandbox.opsgenie.alert_processing_polls = 0
    fill_cache(first.runtime, utc_now(), {"bob@corp.example": BOB})
    a, b = sandbox.slack.socket.connection_ids()
    ts = new_ts()
    for connection in (a, b):
        mention(sandbox, "page: warehouse is down", ts=ts, event_id="Ev0TWICE001", connection=connection)

    wait_until(lambda: saw_repeat(caplog) and thread(sandbox, ts))
    assert run_job(first.runtime, ts) == 1
    assert {ack.connection for ack in sandbox.slack.socket.acks()} == {a, b}
    assert [m["text"].split(" ")[0] for m in thread(sandbox, ts)] == [f"<@{BOB}>", "Paged:"]
    assert len(alert_posts(sandbox)) == 1
    assert len(sandbox.opsgenie.alerts()) == 1


def test_a_reply_slower_than_the_lease_is_posted_once_and_the_listener_leaves_the_job_alone(
    sandbox: Sandbox, world: World, make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.services")
    clock = Clock(utc_now())
    bot = make_bot(PAGING, clock=clock)
    fill_cache(bot.runtime, clock.at, {"bob@corp.example": BOB})
    sandbox.opsgenie.alert_processing_polls = 0
    # Slack rate-limits the reply: slack_sdk waits Retry-After (here 1-2 s) and posts it again.
    sandbox.slack.rate_limit("chat.postMessage", retry_after=1)
    _, ts = mention(sandbox, "page: payments are failing")
    wait_until(lambda: rows(bot.runtime) and sandbox.slack.requests("chat.postMessage"))
    with bot.runtime.sessions.begin() as session:  # the listener's lease runs out while the reply waits
        session.execute(update(Escalation).values(next_attempt_at=clock.at))

    assert retry_pending_pages(bot.runtime, clock.at) == 1  # the job takes the row over and pages
    assert thread(sandbox, ts) == []  # but sends no reply of its own: the listener's may still land
    [row] = rows(bot.runtime)
    taken = clock.at + SLACK_CALL_MAX  # when the listener's reply can no longer be on its way
    assert (row.status, row.reply_ts, row.next_attempt_at, row.lease_token) == ("created", None, taken, None)

    wait_until(lambda: any("outlasted the lease" in r.getMessage() for r in caplog.records))
    [reply] = thread(sandbox, ts)  # the listener's, late
    [row] = rows(bot.runtime)
    assert row.reply_ts == reply["ts"]  # a reply that landed is recorded ...
    assert (row.next_attempt_at, row.lease_token) == (taken, None)  # ... but the job's schedule is not undone
    assert retry_pending_pages(bot.runtime, taken) == 1  # the confirmation follows the reply
    [alert] = sandbox.opsgenie.alerts()
    assert [m["text"].split(" ")[0] for m in thread(sandbox, ts)] == [f"<@{BOB}>", "Paged:"]
    assert alert["id"] in thread(sandbox, ts)[1]["text"]
    assert len(alert_posts(sandbox)) == 1
    assert retry_pending_pages(bot.runtime, taken + timedelta(hours=1)) == 0


# ---- the pager is down -------------------------------------------------------------------------------


def test_pager_down_replies_pending_at_once_then_pages_once_when_back(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    clock = Clock(utc_now())
    bot = make_bot(PAGING, clock=clock, fast=True)
    fill_cache(bot.runtime, clock.at, {"bob@corp.example": BOB})
    sandbox.opsgenie.down = True
    _, ts = mention(sandbox, "page: orders API returns 500")

    [reply] = wait_until(lambda: thread(sandbox, ts))
    assert "Paging through Opsgenie (pending)" in reply["text"]
    row = handed_over(bot.runtime, ts)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, clock.at)  # due for the job

    assert retry_pending_pages(bot.runtime, clock.at) == 1  # the job's first try: still down
    [row] = rows(bot.runtime)
    assert (row.status, row.alert_id, row.attempts) == ("pending", None, 1)
    assert "Opsgenie unreachable" in (row.last_error or "")
    assert row.next_attempt_at == clock.at + timedelta(seconds=10)
    assert retry_pending_pages(bot.runtime, clock.at + timedelta(seconds=5)) == 0  # not due yet

    assert retry_pending_pages(bot.runtime, clock.at + timedelta(seconds=11)) == 1  # still down
    [row] = rows(bot.runtime)
    assert (row.status, row.attempts) == ("pending", 2)
    assert row.next_attempt_at == clock.at + timedelta(seconds=31)  # backoff doubled

    sandbox.opsgenie.down = False
    sandbox.opsgenie.alert_processing_polls = 0
    assert retry_pending_pages(bot.runtime, clock.at + timedelta(minutes=1)) == 1
    assert retry_pending_pages(bot.runtime, clock.at + timedelta(minutes=2)) == 0
    [alert] = sandbox.opsgenie.alerts()
    assert len(alert_posts(sandbox)) == 1
    replies = thread(sandbox, ts)
    assert [m["text"] for m in replies[1:]] == [
        f"Paged: Opsgenie alert {alert['id']} created; the on-call people are being notified."
    ]
    [row] = rows(bot.runtime)
    assert (row.status, row.alert_id, row.last_error) == ("created", alert["id"], None)


def test_restart_while_the_pager_is_down_still_pages_exactly_once(
    sandbox: Sandbox, world: World, make_bot: BotFactory, make_runtime: RuntimeFactory
) -> None:
    bot = make_bot(PAGING, fast=True)
    sandbox.opsgenie.down = True
    _, ts = mention(sandbox, "page: queue is backing up")
    assert run_job(bot.runtime, ts) == 1
    assert [(r.status, r.attempts) for r in rows(bot.runtime)] == [("pending", 1)]
    bot.stop()

    sandbox.opsgenie.down = False
    sandbox.opsgenie.alert_processing_polls = 0
    restarted = make_runtime(PAGING)  # a new process on the same database
    later = utc_now() + timedelta(minutes=1)
    assert retry_pending_pages(restarted, later) == 1
    assert retry_pending_pages(restarted, later + timedelta(minutes=1)) == 0
    assert len(sandbox.opsgenie.alerts()) == 1
    assert len(alert_posts(sandbox)) == 1
    assert [m["text"].split(" ")[0] for m in thread(sandbox, ts)] == ["No", "Paged:"]


def test_restart_while_the_alert_request_is_processing_follows_it_without_a_second_alert(
    sandbox: Sandbox, world: World, make_bot: BotFactory, make_runtime: RuntimeFactory
) -> None:
    bot = make_bot(PAGING)
    sandbox.opsgenie.alert_processing_polls = 1000  # Opsgenie is slow to process the request
    _, ts = mention(sandbox, "page: disk full on etl-1")
    assert run_job(bot.runtime, ts) == 1
    [row] = rows(bot.runtime)
    assert (row.status, row.attempts) == ("requested", 1)
    assert row.next_attempt_at is not None
    assert row.next_attempt_at < row.created_at + timedelta(minutes=1)  # asked about again soon
    bot.stop()
    assert len(thread(sandbox, ts)) == 1

    sandbox.opsgenie.alert_processing_polls = 0
    restarted = make_runtime(PAGING)
    assert retry_pending_pages(restarted, utc_now() + timedelta(minutes=3)) == 1
    assert len(alert_posts(sandbox)) == 1
    [alert] = sandbox.opsgenie.alerts()
    assert thread(sandbox, ts)[1]["text"].startswith(f"Paged: Opsgenie alert {alert['id']} created")
    assert rows(restarted)[0].status == "created"


def test_mentions_while_opsgenie_hangs_reply_at_once_and_oncall_still_acks(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING)  # the real provider: 10-second timeouts and retries
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    sandbox.opsgenie.hang(120, times=1000)  # Opsgenie accepts connections and never answers
    pushed = time.monotonic()
    # More mentions than Bolt has listener threads (5), which the /oncall acks share.
    for n in range(6):  # members of the workspace (guests and strangers do not page)
        sandbox.slack.add_user(f"U0USER0000{n}", name=f"user{n}")
    tss = [
        mention(sandbox, f"page: incident {n}: checkout is down", user=f"U0USER0000{n}")[1] for n in range(6)
    ]

    wait_until(lambda: all(thread(sandbox, ts) for ts in tss), timeout=1.0)
    assert time.monotonic() - pushed < 1.0
    asked = time.monotonic()
    envelope = sandbox.slack.socket.push_command("", user_id=ALICE, channel_id=CHANNEL)
    ack = sandbox.slack.socket.wait_for_ack(envelope, timeout=3)
    assert time.monotonic() - asked < 3
    assert ack.payload is not None
    assert ack.payload["text"] == f"On call for data now: <@{BOB}>"
    assert all("Paging through Opsgenie (pending)" in thread(sandbox, ts)[0]["text"] for ts in tss)
    assert [(r.status, r.attempts) for r in rows(bot.runtime)] == [("pending", 0)] * 6  # left to the job


# ---- abuse limits ------------------------------------------------------------------------------------


def test_page_limit_per_user_per_hour_tags_only_and_says_why(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    clock = Clock(utc_now())
    bot = make_bot("pages_per_user_per_hour = 2\n" + PAGING, clock=clock)
    sandbox.opsgenie.alert_processing_polls = 0
    fill_cache(bot.runtime, clock.at, {"bob@corp.example": BOB})

    def escalate(user: str, text: str) -> list[dict[str, Any]]:
        _, ts = mention(sandbox, f"page: {text}", user=user)
        run_job(bot.runtime, ts, at=clock.at)  # a limited row has nothing left for the job
        return thread(sandbox, ts)

    assert len(escalate(ALICE, "one")) == 2
    clock.at += timedelta(minutes=10)
    assert len(escalate(ALICE, "two")) == 2
    [limited] = escalate(ALICE, "three")
    assert limited["text"] == f"<@{BOB}> is on call for data. Not paged: page limit per hour reached."
    assert "limit of 2 pages per person per hour" in json.dumps(limited["blocks"])
    assert len(escalate(CAROL, "someone else may still page")) == 2
    clock.at += timedelta(minutes=51)  # the first page is now more than an hour old
    assert len(escalate(ALICE, "four")) == 2

    assert [r.status for r in rows(bot.runtime)] == ["created", "created", "limited", "created", "created"]
    assert [b["message"] for b in alert_posts(sandbox)] == [
        "one",
        "two",
        "someone else may still page",
        "four",
    ]


def test_two_mentions_racing_on_two_replicas_cannot_both_slip_under_the_limit(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    runtime = make_bot("pages_per_user_per_hour = 1\n" + PAGING).runtime
    make_bot("pages_per_user_per_hour = 1\n" + PAGING)
    sandbox.opsgenie.alert_processing_polls = 0
    a, b = sandbox.slack.socket.connection_ids()
    pushes = [
        threading.Thread(target=mention, args=(sandbox, f"page: race {c}"), kwargs={"connection": c})
        for c in (a, b)
    ]
    for push in pushes:
        push.start()
    for push in pushes:
        push.join()
    wait_until(lambda: len(rows(runtime)) == 2)
    assert run_job(runtime, *(row.message_ts for row in rows(runtime))) == 1  # the limited one is done
    assert len(sandbox.slack.messages(CHANNEL)) == 3
    assert len(alert_posts(sandbox)) == 1
    assert sum("Not paged" in m["text"] for m in sandbox.slack.messages(CHANNEL)) == 1


def test_help_replies_are_keyed_in_the_notices_table(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(world.config_text)
    _, ts = mention(sandbox, "help", event_id="Ev0NOTICE01")
    wait_until(lambda: thread(sandbox, ts))
    with bot.runtime.sessions() as session:
        [notice] = session.scalars(select(Notice).where(Notice.key == "Ev0NOTICE01"))
    assert notice.kind == "mention_usage"


def test_with_the_scheduler_running_a_page_goes_out_at_once_not_at_the_next_tick(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = make_bot(PAGING, jobs=True)  # the real scheduler: refresh at start, the page job every 15 s
    sandbox.opsgenie.alert_processing_polls = 0
    started = time.monotonic()
    _, ts = mention(sandbox, "page: orders are not flowing")
    wait_until(lambda: len(thread(sandbox, ts)) == 2, timeout=5)
    assert time.monotonic() - started < 5  # well before the job's next 15-second tick
    [alert] = sandbox.opsgenie.alerts()
    assert alert["id"] in thread(sandbox, ts)[1]["text"]
    assert rows(bot.runtime)[0].status == "created"


def test_the_bot_s_own_mention_is_ignored(sandbox: Sandbox, world: World, make_bot: BotFactory) -> None:
    # Bolt knows the bot's own ids from run's auth.test answer (handed to it, not asked for again).
    bot = make_bot(world.config_text)
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    own_ts = new_ts()
    own = {"type": "app_mention", "user": BOT, "bot_id": sandbox.slack.bot_id, "text": f"<@{BOT}> hi"}
    sandbox.slack.socket.push_event(own | {"ts": own_ts, "channel": CHANNEL})
    _, ts = mention(sandbox, "is anyone there?")
    wait_until(lambda: thread(sandbox, ts))
    assert thread(sandbox, own_ts) == []
    assert [row.message_ts for row in rows(bot.runtime)] == [ts]
