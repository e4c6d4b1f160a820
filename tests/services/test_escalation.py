"""Escalation service: parsing tables, the alert it builds, and the retry job's exactly-once guarantees."""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from app.domain import HandoverTime, Team
from app.jobs import schedule
from app.oncall_config import OncallConfig, parse_oncall_config
from app.runtime import Runtime, utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World, teams_toml
from app.scheduling import build_scheduler
from app.services.alert_timing import CONFIRM_WITHIN, backoff, build_alert, follow_delay
from app.services.escalation import handle_mention, retry_pending_pages
from app.services.escalation_intent import parse_priority
from app.services.escalation_lease import SLACK_CALL_MAX
from app.services.escalation_mention import Mention, plain_text, route_mention, strip_bot_mention
from app.services.escalation_pages import MAX_ATTEMPTS
from app.slack.gateway import SlackGateway
from app.slack.gateway_client import web_client
from app.store.models import Escalation
from tests.conftest import RuntimeFactory
from tests.slack.test_mentions import (
    ALICE,
    BOB,
    Clock,
    alert_posts,
    fill_cache,
    new_ts,
    rows,
    thread,
    wait_until,
)

PAGING = teams_toml(escalate="page")


# ---- parsing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the dashboard is empty", None),
        ("P1", "P1"),
        ("p2 the dashboard is empty", "P2"),
        ("dashboard empty, P3.", "P3"),
        ("(P4) dashboard", "P4"),
        ("P5 for now", "P5"),
        ("P3 maybe P1 or P2", "P1"),  # several: the highest wins
        ("P5 and P4", "P4"),
        ("my MP3 player", None),  # inside a word
        ("SP1 build failed", None),
        ("P10 and P0 and P6 are not priorities", None),
        ("P1x", None),
        ("ticket DP-P2", "P2"),  # a hyphen separates words
        ("", None),
    ],
)
def test_parse_priority(text: str, expected: str | None) -> None:
    assert parse_priority(text) == expected


@pytest.mark.parametrize(
    ("text", "bot", "expected"),
    [
        ("<@UBOT> db down", "UBOT", "db down"),
        ("hey <@UBOT> db down", "UBOT", "hey   db down"),
        ("<@UBOT|oncall-bot> db down <@UBOT>", "UBOT", "db down"),
        ("<@UBOT> ask <@U0ALICE0001>", "UBOT", "ask <@U0ALICE0001>"),
        ("<@U0SOMEBOT> db down", None, "db down"),  # without a known id: the leading mention
        ("<@UBOT>", "UBOT", ""),
    ],
)
def test_strip_bot_mention(text: str, bot: str | None, expected: str) -> None:
    assert strip_bot_mention(text, bot) == expected


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("plain words", "plain words"),
        ("&lt;b&gt; &amp; &amp;lt;", "<b> & &lt;"),
        ("<!channel> <!here> <!everyone>", "@channel @here @everyone"),
        ("<!here|@here> <!subteam^S0DATA00001|@data-oncall> <!subteam^S0X>", "@here @data-oncall @S0X"),
        ("ask <@U0ALICE0001> and <@U0BOB000001|bob>", "ask @U0ALICE0001 and @bob"),
        ("in <#C0DATA00001|data-team> and <#C0RANDOM001>", "in #data-team and #C0RANDOM001"),
        ("see <https://x.example/a?b=1&amp;c=2|the run> <https://y.example>", None),
    ],
)
def test_plain_text(slack: str, plain: str | None) -> None:
    if plain is None:
        assert plain_text(slack) == "see the run (https://x.example/a?b=1&c=2) https://y.example"
    else:
        assert plain_text(slack) == plain


def config_of(*teams: tuple[str, str]) -> OncallConfig:
    text = "".join(
        f'[[teams]]\nname = "{name}"\nschedule = "s-{name}"\n'
        f'usergroup = "{name}-oncall"\nchannel = "{channel}"\n'
        for name, channel in teams
    )
    return parse_oncall_config(text, Path("oncall.toml"))


TWO = config_of(("data", "C0DATA00001"), ("infra", "C0INFRA0001"))
ONE = config_of(("data", "C0DATA00001"))


@pytest.mark.parametrize(
    ("config", "channel", "text", "kind", "team", "body"),
    [
        (TWO, "C0DATA00001", "db down", "escalate", "data", "db down"),
        (TWO, "C0INFRA0001", "db down", "escalate", "infra", "db down"),
        (TWO, "C0DATA00001", "infra: disk full", "escalate", "infra", "disk full"),  # naming wins
        (TWO, "C0DATA00001", "Infra:disk full", "escalate", "infra", "disk full"),
        (TWO, "C0RANDOM001", "infra disk full", "escalate", "infra", "disk full"),
        (TWO, "C0RANDOM001", "disk full", "unknown_team", None, ""),
        (TWO, "C0RANDOM001", "sales: disk full", "unknown_team", None, ""),
        (TWO, "C0DATA00001", "sales: disk full", "escalate", "data", "sales: disk full"),
        (ONE, "C0RANDOM001", "disk full", "escalate", "data", "disk full"),  # the only team
        (ONE, "C0RANDOM001", "", "help", None, ""),
        (TWO, "C0RANDOM001", "help", "help", None, ""),
        (TWO, "C0DATA00001", "infra", "help", None, ""),
        (TWO, "C0DATA00001", "data: ?", "help", None, ""),
    ],
)
def test_route_mention(
    config: OncallConfig, channel: str, text: str, kind: str, team: str | None, body: str
) -> None:
    route = route_mention(config, channel, text)
    assert (route.kind, route.team.name if route.team else None, route.body) == (kind, team, body)


def test_unknown_team_remembers_the_word_only_when_it_looked_like_a_team() -> None:
    assert route_mention(TWO, "C0RANDOM001", "sales: x").word == "sales"
    assert route_mention(TWO, "C0RANDOM001", "sales x").word is None


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 8)] == [10, 20, 40, 80, 160, 300, 300]
    assert backoff(MAX_ATTEMPTS) == backoff(10_000) == timedelta(minutes=5)  # no overflow on the way


def test_follow_ups_back_off_from_5_seconds_to_a_minute() -> None:
    waited, schedule = timedelta(0), []
    for _ in range(7):
        waited += follow_delay(waited)
        schedule.append(waited.total_seconds())
    assert schedule == [5, 15, 35, 75, 135, 195, 255]


def test_alert_without_permalink_still_says_where_to_look() -> None:
    team = Team("data", "data_sched", "data-oncall", CHANNEL, HandoverTime(0, 9, 0), "UTC", "page", "P4")
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    row = Escalation(
        event_id="Ev1", team="data", channel=CHANNEL, message_ts="1.000200", thread_ts="1.000100",
        user_id=ALICE, text="  ", on_call=[], priority="P4", status="pending", alias=None,
        created_at=now, updated_at=now,
    )  # fmt: skip
    alert = build_alert(row, team, reporter="alice (U0ALICE0001)", permalink=None)
    assert alert.message == "Escalation from Slack for team data"
    assert alert.description.endswith("Slack gave no permalink for the message.")
    assert alert.alias == f"slack-{CHANNEL}-1.000200"
    assert alert.schedule == "data_sched"
    assert alert.priority == "P4"
    assert "permalink" not in alert.details
    assert alert.details["thread_ts"] == "1.000100"


# ---- the service and its job, against the sandbox -----------------------------------------------------


def escalate(runtime: Runtime, sandbox: Sandbox, text: str, now: datetime, *, user: str = ALICE) -> str:
    """Mention the bot through the service (as the listener does) and return the message ts."""
    ts = new_ts()
    if user.startswith("U0USER"):  # a workspace member (guests and strangers do not page)
        sandbox.slack.add_user(user, name=user.lower())
    sandbox.slack.see_message(CHANNEL, ts)  # the message exists in Slack, so it has a permalink
    mention = Mention(f"Ev{ts}", CHANNEL, user, f"<@UBOT> page: {text}", ts, bot_user_id="UBOT")
    handle_mention(runtime, mention, now)
    return ts


@pytest.fixture
def runtime(world: World, make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime(PAGING)


def test_a_refused_page_fails_at_once_and_says_so(sandbox: Sandbox, runtime: Runtime) -> None:
    sandbox.opsgenie.fail(403, path_contains="/v2/alerts")
    now = utc_now()
    ts = escalate(runtime, sandbox, "db down", now)
    assert retry_pending_pages(runtime, now) == 1
    [row] = rows(runtime)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 0, None)
    assert "HTTP 403" in (row.last_error or "")
    assert thread(sandbox, ts)[1]["text"].startswith("Could not page through Opsgenie: Opsgenie denied")
    assert retry_pending_pages(runtime, now + timedelta(hours=1)) == 0
    assert sandbox.opsgenie.alerts() == []


def test_page_limit_counts_only_pages(sandbox: Sandbox, world: World, make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime("pages_per_user_per_hour = 0\n" + PAGING)
    escalate(runtime, sandbox, "db down", utc_now())
    assert [r.status for r in rows(runtime)] == ["limited"]
    assert alert_posts(sandbox) == []


def test_no_permalink_still_pages(sandbox: Sandbox, runtime: Runtime) -> None:
    sandbox.opsgenie.alert_processing_polls = 0
    sandbox.slack.fail("chat.getPermalink", "message_not_found", times=2)  # the listener's and the job's
    now = utc_now()
    ts = escalate(runtime, sandbox, "db down", now)
    assert retry_pending_pages(runtime, now) == 1
    [body] = alert_posts(sandbox)
    assert "permalink" not in body["details"]
    assert body["description"].endswith("Slack gave no permalink for the message.")
    assert thread(sandbox, ts)[1]["text"].startswith("Paged:")


def test_a_lost_confirmation_is_posted_by_the_job_exactly_once(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    now = utc_now()
    runtime = make_runtime(PAGING, clock=Clock(now))
    sandbox.opsgenie.alert_processing_polls = 0
    ts = escalate(runtime, sandbox, "db down", now)
    sandbox.slack.fail("chat.postMessage", "channel_not_found")  # the confirmation is refused once

    assert retry_pending_pages(runtime, now) == 1
    [row] = rows(runtime)
    [alert] = sandbox.opsgenie.alerts()
    # The alert exists: the row stays created; only the confirmation is owed.
    assert (row.status, row.alert_id, row.outcome_ts) == ("created", alert["id"], None)
    assert (row.post_attempts, row.next_attempt_at) == (1, now + timedelta(seconds=10))
    assert len(thread(sandbox, ts)) == 1
    polls = len(sandbox.opsgenie.requests("/v2/alerts/requests/"))

    assert retry_pending_pages(runtime, now + timedelta(seconds=5)) == 0  # not due yet
    assert retry_pending_pages(runtime, now + timedelta(minutes=1)) == 1
    assert retry_pending_pages(runtime, now + timedelta(minutes=10)) == 0
    assert [m["text"] for m in thread(sandbox, ts)][1:] == [
        f"Paged: Opsgenie alert {alert['id']} created; the on-call people are being notified."
    ]
    [row] = rows(runtime)
    assert (row.status, row.next_attempt_at, row.outcome_ts) == (
        "created",
        None,
        thread(sandbox, ts)[1]["ts"],
    )
    assert len(sandbox.opsgenie.requests("/v2/alerts/requests/")) == polls  # Opsgenie is not asked again
    assert len(alert_posts(sandbox)) == 1


def test_a_refused_reply_is_posted_by_the_job_before_it_pages_and_confirms(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    fill_cache(runtime, utc_now(), {"bob@corp.example": BOB})
    sandbox.opsgenie.alert_processing_polls = 0
    sandbox.slack.fail("chat.postMessage", "not_in_channel", times=1)  # the bot was not in the channel yet
    now = utc_now()
    ts = escalate(runtime, sandbox, "db down", now)
    [row] = rows(runtime)
    assert (row.status, row.reply_ts, row.post_attempts, row.next_attempt_at) == ("pending", None, 1, now)
    assert thread(sandbox, ts) == []

    assert retry_pending_pages(runtime, now) == 1
    replies = thread(sandbox, ts)
    assert [m["text"].split(" ")[0] for m in replies] == [f"<@{BOB}>", "Paged:"]  # in this order
    assert "Paging through Opsgenie (pending)" in replies[0]["text"]
    [row] = rows(runtime)
    assert (row.status, row.reply_ts, row.outcome_ts) == ("created", replies[0]["ts"], replies[1]["ts"])
    assert row.next_attempt_at is None
    assert retry_pending_pages(runtime, now + timedelta(hours=1)) == 0
    assert len(thread(sandbox, ts)) == 2
    assert len(alert_posts(sandbox)) == 1


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_slack_unreachable_for_the_reply_leaves_it_to_the_job(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(world.config_text)  # tag only: no page would bring the row back
    fill_cache(runtime, utc_now(), {"bob@corp.example": BOB})
    # Connection refused: slack_sdk raises URLError here, not SlackApiError.
    unreachable = SlackGateway(web_client("xoxb-unreachable", f"http://127.0.0.1:{closed_port()}/api/", []))
    now = utc_now()
    ts = escalate(replace(runtime, slack=unreachable), sandbox, "db down", now)  # does not raise
    [row] = rows(runtime)
    assert (row.status, row.reply_ts, row.permalink, row.post_attempts) == ("tag_only", None, None, 1)
    assert row.next_attempt_at == now

    assert retry_pending_pages(runtime, now) == 1
    [reply] = thread(sandbox, ts)
    assert reply["text"] == f"<@{BOB}> is on call for data. This team does not page from Slack."
    [row] = rows(runtime)
    assert (row.reply_ts, row.next_attempt_at) == (reply["ts"], None)
    assert retry_pending_pages(runtime, now + timedelta(hours=1)) == 0


def test_a_confirmation_slack_keeps_refusing_stays_created_and_is_given_up(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    now = utc_now()
    runtime = make_runtime(PAGING, clock=Clock(now))
    sandbox.opsgenie.alert_processing_polls = 0
    ts = escalate(runtime, sandbox, "db down", now)
    sandbox.slack.fail("chat.postMessage", "is_archived", times=10 * MAX_ATTEMPTS)  # the channel was archived

    step = backoff(MAX_ATTEMPTS)  # the longest wait: every run below finds the row due, until it gives up
    runs = [retry_pending_pages(runtime, now + n * step) for n in range(MAX_ATTEMPTS + 5)]
    assert runs == [1] * MAX_ATTEMPTS + [0] * 5
    [row] = rows(runtime)
    [alert] = sandbox.opsgenie.alerts()
    assert (row.status, row.alert_id, row.outcome_ts, row.next_attempt_at) == (
        "created",
        alert["id"],
        None,
        None,
    )
    assert (row.attempts, row.post_attempts) == (1, MAX_ATTEMPTS)
    assert len(sandbox.slack.requests("chat.postMessage")) == 1 + MAX_ATTEMPTS  # the reply, then each try
    assert len(sandbox.opsgenie.requests("/v2/alerts/requests/")) == 1  # the alert is never asked about again
    assert len(alert_posts(sandbox)) == 1
    assert len(thread(sandbox, ts)) == 1
    assert "giving up on its thread outcome" in caplog.text
    assert not [r for r in caplog.records if "page of escalation" in r.getMessage()]  # never "failed"


def test_each_escalation_of_a_batch_reads_the_clock_again(sandbox: Sandbox, runtime: Runtime) -> None:
    now = utc_now()
    for n in range(2):
        escalate(runtime, sandbox, f"problem {n}", now, user=f"U0USER0000{n}")
    sandbox.opsgenie.down = True
    sandbox.opsgenie.latency = 0.3  # each answer is slow: a failed create (two tries) takes over 0.6 s
    later = now + timedelta(hours=1)  # an explicit start, as a test or a late job run gives

    assert retry_pending_pages(runtime, later) == 2
    first, second = rows(runtime)
    assert first.next_attempt_at is not None
    assert second.next_attempt_at is not None
    # Backoffs run from when each create failed, not from when the run started.
    assert first.next_attempt_at >= later + backoff(1) + timedelta(seconds=0.6)
    assert second.next_attempt_at - first.next_attempt_at >= timedelta(seconds=0.6)


def test_two_replicas_running_the_job_at_once_page_and_confirm_once(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    first, second = make_runtime(PAGING), make_runtime(PAGING)
    fill_cache(first, utc_now(), {"bob@corp.example": BOB})
    now = utc_now()
    tss = [escalate(first, sandbox, f"problem {n}", now, user=f"U0USER0000{n}") for n in range(3)]
    sandbox.opsgenie.alert_processing_polls = 0

    later = now + timedelta(minutes=1)
    worked: list[int] = []
    jobs = [
        threading.Thread(target=lambda r=r: worked.append(retry_pending_pages(r, later)))
        for r in (first, second)
    ]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    assert sum(worked) == 3
    assert len(alert_posts(sandbox)) == 3
    for ts in tss:
        assert [m["text"].split(" ")[0] for m in thread(sandbox, ts)] == [f"<@{BOB}>", "Paged:"]


def test_the_job_gives_up_after_max_attempts(sandbox: Sandbox, runtime: Runtime) -> None:
    now = utc_now()
    sandbox.opsgenie.down = True
    ts = escalate(runtime, sandbox, "db down", now)
    with runtime.sessions.begin() as session:
        session.execute(update(Escalation).values(attempts=MAX_ATTEMPTS - 1))
    assert retry_pending_pages(runtime, now + timedelta(hours=1)) == 1
    [row] = rows(runtime)
    assert row.status == "failed"
    assert thread(sandbox, ts)[1]["text"].startswith("Could not page through Opsgenie: Opsgenie unreachable")


def test_the_retry_job_is_scheduled_every_15_seconds(runtime: Runtime) -> None:
    scheduler = build_scheduler()
    schedule(scheduler, runtime)
    job = scheduler.get_job("escalation-pages")
    assert job is not None
    assert job.trigger.interval == timedelta(seconds=15)


# ---- a request Opsgenie never confirms; a worker that lost its lease ----------------------------------


def status_polls(sandbox: Sandbox) -> int:
    """How often Opsgenie was asked how an alert request went."""
    return len(sandbox.opsgenie.requests("/v2/alerts/requests/"))


def test_a_request_opsgenie_never_processes_ends_unconfirmed_in_the_thread_once(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    now = utc_now()
    runtime = make_runtime(PAGING, clock=Clock(now))
    sandbox.opsgenie.alert_processing_polls = 10**6  # accepted (202), then never processed
    ts = escalate(runtime, sandbox, "db down", now)

    assert retry_pending_pages(runtime, now) == 1  # the create, a poll, one short wait, a poll
    [row] = rows(runtime)
    assert (row.status, row.attempts, row.requested_at) == ("requested", 1, now)
    assert status_polls(sandbox) == 2
    schedule: list[float] = []
    while (at := rows(runtime)[0].next_attempt_at) is not None and len(schedule) < 30:
        assert retry_pending_pages(runtime, at - timedelta(seconds=1)) == 0  # not due before
        assert retry_pending_pages(runtime, at) == 1
        schedule.append((at - now).total_seconds())
    # Backed off (5 s, 10 s, 20 s … a minute), the last one at the deadline: one poll each, no waiting.
    assert schedule == [5, 15, 35, 75, 135, 195, 255, 315, 375, 435, 495, 555, 600]
    assert status_polls(sandbox) == 2 + len(schedule)

    [row] = rows(runtime)
    request_id = row.alert_request_id
    assert (row.status, row.alert_id, row.resolved_at) == ("unconfirmed", None, now + CONFIRM_WITHIN)
    assert (row.next_attempt_at, row.lease_token) == (None, None)
    replies = thread(sandbox, ts)
    assert [m["text"] for m in replies[1:]] == [
        f"The page was sent to Opsgenie (request {request_id}), but Opsgenie never confirmed it: it was "
        "still processing the request after 10 minutes. The alert may exist and the on-call people may "
        "have been paged."
    ]
    assert "Check Opsgenie for the alert before paging again" in str(replies[1]["blocks"])
    assert row.outcome_ts == replies[1]["ts"]
    # Final: never asked about again, nothing more in the thread.
    assert retry_pending_pages(runtime, now + timedelta(hours=2)) == 0
    assert status_polls(sandbox) == 2 + len(schedule)
    assert len(thread(sandbox, ts)) == 2
    assert len(alert_posts(sandbox)) == 1


def test_a_status_opsgenie_refuses_to_show_ends_unconfirmed_not_failed(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    sandbox.opsgenie.fail(403, path_contains="/v2/alerts/requests/")
    now = utc_now()
    ts = escalate(runtime, sandbox, "db down", now)
    assert retry_pending_pages(runtime, now) == 1
    [row] = rows(runtime)
    assert (row.status, row.next_attempt_at) == ("unconfirmed", None)
    [_, notice] = thread(sandbox, ts)
    assert notice["text"].startswith(f"The page was sent to Opsgenie (request {row.alert_request_id}), but")
    assert "its status could not be read" in notice["text"]
    assert "Could not page" not in notice["text"]  # the alert may well exist


def test_a_job_overtaken_while_its_confirmation_is_slow_confirms_once_and_stops(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    now = utc_now()
    first, second = make_runtime(PAGING, clock=Clock(now)), make_runtime(PAGING, clock=Clock(now))
    fill_cache(first, now, {"bob@corp.example": BOB})
    sandbox.opsgenie.alert_processing_polls = 0
    ts = escalate(first, sandbox, "db down", now)
    # Slack rate-limits the confirmation: slack_sdk waits Retry-After (here 1-2 s) and posts it again.
    sandbox.slack.rate_limit("chat.postMessage", retry_after=1)
    slow = threading.Thread(target=retry_pending_pages, args=(first, now))
    slow.start()
    wait_until(lambda: len(sandbox.slack.requests("chat.postMessage")) == 2)  # the reply, then the 429
    with first.sessions.begin() as session:  # the first worker's lease runs out while it waits
        session.execute(update(Escalation).values(next_attempt_at=now))
    assert retry_pending_pages(second, now) == 1  # another worker takes the row over ...
    assert len(thread(sandbox, ts)) == 1  # ... and does not confirm again while the first may still
    slow.join()

    assert "taken over by another worker" in caplog.text  # the first one recorded its post, then stopped
    [row] = rows(first)
    [alert] = sandbox.opsgenie.alerts()
    [_, confirmation] = thread(sandbox, ts)
    assert confirmation["text"].startswith(f"Paged: Opsgenie alert {alert['id']} created")
    assert (row.status, row.outcome_ts) == ("created", confirmation["ts"])
    assert (row.next_attempt_at, row.lease_token) == (now + SLACK_CALL_MAX, None)  # the second one's
    assert retry_pending_pages(second, now + SLACK_CALL_MAX) == 1  # nothing left to post
    assert len(thread(sandbox, ts)) == 2
    assert rows(first)[0].next_attempt_at is None
    assert len(alert_posts(sandbox)) == 1
