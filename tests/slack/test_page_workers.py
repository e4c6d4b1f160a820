"""Pages asked for go out at once: beside a rate-limited thread reply, past a hanging page, ahead of App Home.

The real bot with its jobs and page workers (``make_bot(jobs=True)``) against the sandbox over real sockets.
Orderings are read from the sandboxes' own request logs (one monotonic clock in this process), never from
sleeps; the faults (a 429 on the reply, a pager that hangs, a lost answer, a locked database) are the
sandboxes' and SQLite's own.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World
from app.services.escalation_pages import retry_pending_pages
from app.store import db
from tests.conftest import BotFactory
from tests.databases import writes_held
from tests.slack.test_mentions import PAGING, mention, rows, thread, wait_until


def alert_posts(sandbox: Sandbox) -> list[float]:
    """When each POST /v2/alerts reached Opsgenie (monotonic), oldest first."""
    return [
        r.at for r in sandbox.opsgenie.requests("/v2/alerts") if r.method == "POST" and r.path == "/v2/alerts"
    ]


def posted_replies(sandbox: Sandbox) -> list[float]:
    """When each chat.postMessage that Slack accepted reached it (monotonic)."""
    return [r.at for r in sandbox.slack.requests("chat.postMessage") if r.ok]


def started(sandbox: Sandbox, make_bot: BotFactory, **options: bool) -> object:
    """The bot with its scheduler and page workers, after its start-up cycle cached who is on call."""
    bot = make_bot(PAGING, jobs=True, **options)
    wait_until(lambda: sandbox.slack.requests("usergroups.users.update"), timeout=20)
    sandbox.opsgenie.alert_processing_polls = 0
    return bot


def test_the_page_goes_out_while_its_thread_reply_waits_out_a_slack_rate_limit(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    started(sandbox, make_bot)
    sandbox.slack.rate_limit("chat.postMessage", retry_after=2, times=1)  # the reply meets a 429
    _, ts = mention(sandbox, "page: the warehouse load failed")
    wait_until(lambda: len(thread(sandbox, ts)) == 2, timeout=20)  # the reply, then the outcome
    [alerted] = alert_posts(sandbox)
    reply, outcome = posted_replies(sandbox)
    assert alerted < reply  # the alert did not wait for the reply's Retry-After
    assert reply <= outcome
    assert thread(sandbox, ts)[1]["text"].startswith("Paged")
    assert len(sandbox.opsgenie.alerts()) == 1


def test_one_page_hanging_at_the_pager_does_not_hold_up_another(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    started(sandbox, make_bot)
    sandbox.opsgenie.hang(4, times=1)  # the next Opsgenie request: the first page's alert
    _, slow = mention(sandbox, "page: the first thing is broken", user="U0BOB000001")
    wait_until(lambda: "/v2/alerts" in sandbox.opsgenie.hanging(), timeout=10)
    _, fast = mention(sandbox, "page: the second thing is broken")
    wait_until(lambda: len(sandbox.opsgenie.alerts()) == 1, timeout=10)
    assert "/v2/alerts" in sandbox.opsgenie.hanging()  # the first page is still at Opsgenie
    assert sandbox.opsgenie.alerts()[0]["alias"].endswith(fast)
    wait_until(lambda: len(sandbox.opsgenie.alerts()) == 2, timeout=20)  # and it goes out in the end
    wait_until(lambda: len(thread(sandbox, slow)) == 2 and len(thread(sandbox, fast)) == 2, timeout=20)


def test_a_page_is_served_while_app_home_opens_wait_on_a_stuck_slack(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    started(sandbox, make_bot)
    _, first = mention(sandbox, "page: the first page caches who alice is")  # users.info, while it is quick
    wait_until(lambda: len(thread(sandbox, first)) == 2, timeout=20)
    sandbox.slack.answer_together("views.publish", calls=50, timeout=4)  # App Home views are held
    for i in range(8):  # twice the workers a lane has
        sandbox.slack.socket.push_event(
            {"type": "app_home_opened", "user": "U0ALICE0001", "channel": f"D0HOME{i:05d}", "tab": "home"}
        )
    wait_until(lambda: sandbox.slack.held("views.publish") == 4, timeout=10)  # the App Home lane is full
    _, second = mention(sandbox, "page: the second page must not wait for App Home")
    wait_until(lambda: len(sandbox.opsgenie.alerts()) == 2, timeout=10)
    assert sandbox.opsgenie.alerts()[1]["alias"].endswith(second)
    assert sandbox.slack.requests("views.publish") == []  # every view is still held


def test_an_alert_whose_create_timed_out_is_read_back_by_alias_not_raised_again(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot = started(sandbox, make_bot, fast=True)  # Opsgenie client: 0.5 s timeout, one retry
    runtime = bot.runtime  # type: ignore[attr-defined]
    sandbox.opsgenie.hang(1.0, times=2)  # both tries time out, and Opsgenie creates the alert anyway
    _, ts = mention(sandbox, "page: the invoices are not sent")
    wait_until(lambda: [r for r in rows(runtime) if r.attempts == 1 and r.lease_token is None], timeout=10)
    [alert] = wait_until(sandbox.opsgenie.alerts, timeout=10)  # the unknown outcome: it did land
    sandbox.opsgenie.close_alert(alert["alias"])  # and was closed at once: a new create would not fold
    posts = len(alert_posts(sandbox))
    retry_pending_pages(runtime, utc_now() + timedelta(minutes=1))  # the retry, once its backoff is over
    [row] = rows(runtime)
    assert (row.status, row.alert_id) == ("created", alert["id"])
    assert len(alert_posts(sandbox)) == posts  # read back, not created again
    assert len(sandbox.opsgenie.alerts()) == 1
    wait_until(lambda: len(thread(sandbox, ts)) == 2, timeout=10)


def test_a_locked_database_under_the_page_worker_is_taken_over_without_a_second_alert(
    sandbox: Sandbox, world: World, make_bot: BotFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 300)  # the worker gives up on the lock within a second
    bot = started(sandbox, make_bot)
    runtime = bot.runtime  # type: ignore[attr-defined]
    sandbox.opsgenie.hang(1.0, times=1)  # the alert is on its way ...
    _, ts = mention(sandbox, "page: the ledger is off")
    wait_until(lambda: "/v2/alerts" in sandbox.opsgenie.hanging(), timeout=10)
    url = runtime.sessions.kw["bind"].url.render_as_string(hide_password=False)
    with writes_held(url):  # ... when another process takes the write lock
        wait_until(sandbox.opsgenie.alerts, timeout=10)  # the alert exists; the worker cannot record it
        wait_until(lambda: runtime.leases.held() == 0, timeout=10)  # it gave up and let go of the lease
    [row] = rows(runtime)
    assert row.status == "pending"  # nothing recorded: the outcome is unknown to the bot
    later = utc_now() + runtime.leases.duration + timedelta(seconds=1)  # the lease has run out
    assert retry_pending_pages(runtime, later) == 1  # the job takes the row over and reads back
    [row] = rows(runtime)
    assert row.status == "created"
    assert len(alert_posts(sandbox)) == 1
    assert len(sandbox.opsgenie.alerts()) == 1
    assert thread(sandbox, ts)[0]["channel"] == CHANNEL
