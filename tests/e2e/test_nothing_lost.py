"""Nothing lost: the real `python -m app run` process through a locked database, kill -9, SIGTERM and a
deleted database file, against the sandbox over real sockets."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import USERGROUP_ID, World, seed, write_config
from tests.conftest import database_url, environment_for
from tests.databases import query, writes_held
from tests.e2e.bot_processes import Start, bot_processes
from tests.slack.test_mentions import CAROL, mention, thread, wait_until

# The lease of the product's own setting, short so that a take-over is quick to watch.
LEASE_SECONDS = "3"
STOP_DEADLINE = 10.0


@pytest.fixture
def paging_world(sandbox: Sandbox) -> World:
    """The seeded workspace with a team whose mentions page."""
    return seed(sandbox, utc_now(), escalate="page")


@pytest.fixture
def start_bot_process(sandbox: Sandbox, paging_world: World, tmp_path: Path) -> Iterator[Start]:
    """Start `python -m app run` (again and again, on one database); wait until it is connected."""
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, paging_world.config_text))
    env["LEASE_SECONDS"] = LEASE_SECONDS
    with bot_processes(sandbox, env, capture=True) as start:
        yield start


def synced(sandbox: Sandbox) -> None:
    """Wait for the start-up cycle: the pager was read and the usergroup set to who is on call."""
    wait_until(lambda: sandbox.slack.usergroup_members(USERGROUP_ID) != ["U0DAVE00001"], timeout=30)


def replies(sandbox: Sandbox, ts: str) -> list[str]:
    """The thread replies naming the on-call person (carol this week), not the page's outcome."""
    return [m["text"] for m in thread(sandbox, ts) if m["text"].startswith(f"<@{CAROL}>")]


def output(process: subprocess.Popen[str]) -> str:
    return process.stdout.read() if process.stdout else ""


def test_a_mention_while_another_process_holds_the_write_lock_is_answered_and_paged_once_it_is_free(
    sandbox: Sandbox, start_bot_process: Start, tmp_path: Path
) -> None:
    start_bot_process()
    synced(sandbox)
    with writes_held(database_url(tmp_path)):  # held longer than the bot's 10-second busy timeout
        _, ts = mention(sandbox, "page: warehouse is down")
        wait_until(lambda: replies(sandbox, ts), timeout=30)  # Slack is up: the thread hears at once
        assert sandbox.opsgenie.alerts() == []
    released = time.monotonic()

    [alert] = wait_until(sandbox.opsgenie.alerts, timeout=60)
    assert time.monotonic() - released < 60
    assert alert["alias"].endswith(ts)
    wait_until(lambda: any(m["text"].startswith("Paged") for m in thread(sandbox, ts)), timeout=30)
    assert len(replies(sandbox, ts)) == 1
    assert len(sandbox.opsgenie.alerts()) == 1


def test_after_kill_9_mid_page_the_restarted_bot_pages_within_a_minute(
    sandbox: Sandbox, start_bot_process: Start, tmp_path: Path
) -> None:
    first = start_bot_process()
    synced(sandbox)
    sandbox.opsgenie.hang(120)  # the next Opsgenie call is the alert: it never comes back
    _, ts = mention(sandbox, "page: payments are failing")
    wait_until(lambda: replies(sandbox, ts), timeout=30)
    # Killed mid-page, not mid-reply: a reply Slack shows but the bot has not recorded yet is a post
    # that may still land, which the next process rightly waits out (minutes) before posting again.
    wait_until(lambda: reply_recorded(tmp_path, ts), timeout=30)
    wait_until(lambda: "/v2/alerts" in sandbox.opsgenie.hanging(), timeout=30)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)

    restarted = time.monotonic()
    start_bot_process()
    [alert] = wait_until(sandbox.opsgenie.alerts, timeout=60)
    assert time.monotonic() - restarted < 60
    assert alert["alias"].endswith(ts)
    wait_until(lambda: any(m["text"].startswith("Paged") for m in thread(sandbox, ts)), timeout=30)
    assert len(replies(sandbox, ts)) == 1  # the dead process's reply is not posted again


def test_sigterm_while_opsgenie_hangs_exits_within_10_seconds(
    sandbox: Sandbox, start_bot_process: Start
) -> None:
    sandbox.opsgenie.hang(120, times=50)  # the start-up refresh never gets an answer
    process = start_bot_process()
    wait_until(sandbox.opsgenie.hanging, timeout=30)

    asked = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=30)
    assert time.monotonic() - asked < STOP_DEADLINE
    assert code == 0
    assert "Traceback" not in output(process)


def test_sigterm_during_a_slack_retry_after_of_30_seconds_exits_within_10_seconds(
    sandbox: Sandbox, start_bot_process: Start
) -> None:
    sandbox.slack.rate_limit("usergroups.list", retry_after=30)  # met by the start-up cycle
    process = start_bot_process()
    wait_until(lambda: sandbox.slack.requests("usergroups.list"), timeout=30)

    asked = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=40)
    assert time.monotonic() - asked < STOP_DEADLINE
    assert code == 0
    assert "Traceback" not in output(process)


@pytest.mark.sqlite_file
def test_the_database_file_deleted_under_the_running_bot_stops_it_with_one_sentence(
    sandbox: Sandbox, start_bot_process: Start, tmp_path: Path
) -> None:
    process = start_bot_process()
    synced(sandbox)
    (tmp_path / "oncall.db").unlink()

    code = process.wait(timeout=20)
    text = output(process)
    assert code == 1
    said = [line for line in text.splitlines() if line.startswith("oncall-bot: stopped:")]
    assert said == [
        f"oncall-bot: stopped: the database file {tmp_path / 'oncall.db'} was deleted while the bot was "
        "running; the bot stopped so that nothing it records is lost; restore the file (or start again to "
        "begin a new one)"
    ]
    assert "Traceback" not in text


def test_killed_after_its_alert_landed_unseen_the_restarted_bot_reads_it_back_and_raises_no_second(
    sandbox: Sandbox, start_bot_process: Start, tmp_path: Path
) -> None:
    first = start_bot_process()
    synced(sandbox)
    sandbox.opsgenie.hang(1.5)  # the create reaches Opsgenie and is answered only after the bot is dead
    _, ts = mention(sandbox, "page: the refunds queue is stuck")
    wait_until(lambda: "/v2/alerts" in sandbox.opsgenie.hanging(), timeout=30)
    wait_until(lambda: reply_recorded(tmp_path, ts), timeout=30)  # the reply went out beside the page
    first.send_signal(signal.SIGKILL)  # between the claim (and the create) and recording what came of it
    first.wait(timeout=10)
    [alert] = wait_until(sandbox.opsgenie.alerts, timeout=30)  # the alert exists; the bot never heard
    sandbox.opsgenie.close_alert(alert["alias"])  # closed at once: Opsgenie would not fold a new create

    start_bot_process()
    wait_until(lambda: any(m["text"].startswith("Paged") for m in thread(sandbox, ts)), timeout=60)
    assert len(sandbox.opsgenie.alerts()) == 1  # read back by alias, not raised again
    creates = [
        r for r in sandbox.opsgenie.requests("/v2/alerts") if r.method == "POST" and r.path == "/v2/alerts"
    ]
    assert len(creates) == 1
    assert len(replies(sandbox, ts)) == 1


def reply_recorded(directory: Path, ts: str) -> bool:
    """True once the bot stored its thread reply's ts for the escalation of message ``ts``."""
    found = query(database_url(directory), "SELECT reply_ts FROM escalations WHERE message_ts = :ts", ts=ts)
    return bool(found and found[0][0])
