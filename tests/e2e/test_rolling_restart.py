"""A rolling restart: the new `python -m app run` starts while the old one is still stopping, on one database.

The old process is stopped (SIGTERM) while a page of its own hangs at Opsgenie: that page is left to its
row's lease (the next process reads it back), but the leadership of the scheduled jobs is not held by a
page, so the new process leads at its next beat, not a whole lease later.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import World, seed, write_config
from tests.conftest import database_url, environment_for
from tests.databases import query
from tests.e2e.bot_processes import Start, bot_processes
from tests.e2e.test_nothing_lost import reply_recorded, synced
from tests.e2e.test_replicas import CLOCK_HOOK, ReplicaClock
from tests.slack.test_mentions import CAROL, mention, wait_until

# The default lease: a leader that does not give it back is followed only 20-40 s after it is gone.
LEASE_SECONDS = 30
BEAT = LEASE_SECONDS / 3


@pytest.fixture
def start_replica(sandbox: Sandbox, tmp_path: Path) -> Iterator[Start]:
    """Start `python -m app run` on the test's one database; wait until it is connected to Slack."""
    world: World = seed(sandbox, utc_now(), escalate="page")
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    env["LEASE_SECONDS"] = str(LEASE_SECONDS)
    with bot_processes(sandbox, env) as start:
        yield start


def leader_pid(directory: Path) -> int | None:
    """The pid of the process holding the leader lease now, by the database (None: nobody holds it)."""
    sql = "SELECT holder, lease_token FROM leader_leases WHERE name = :name"
    found = query(database_url(directory), sql, name="jobs")
    if not found or not found[0][0] or not found[0][1]:
        return None
    return int(str(found[0][0]).split("/")[1])


def test_a_page_hanging_at_the_pager_does_not_keep_the_stopping_leader_from_handing_over(
    sandbox: Sandbox, start_replica: Start, tmp_path: Path
) -> None:
    old = start_replica()
    synced(sandbox)
    wait_until(lambda: leader_pid(tmp_path) == old.pid, timeout=30)
    sandbox.opsgenie.hang(120, path="/v2/alerts")  # the old process's page never gets its answer
    _, ts = mention(sandbox, "page: checkout is down")
    wait_until(lambda: "/v2/alerts" in sandbox.opsgenie.hanging(), timeout=30)
    wait_until(lambda: reply_recorded(tmp_path, ts), timeout=30)

    new = start_replica()  # the rolling restart: the new one is up before the old one is told to stop
    old.send_signal(signal.SIGTERM)
    assert old.wait(timeout=30) == 0
    gone = time.monotonic()

    wait_until(lambda: leader_pid(tmp_path) == new.pid, timeout=3 * LEASE_SECONDS)
    # The old one had no scheduled job running: it gave the lease back, and the new one took it at its
    # next beat (not after the old lease ran out, 20-40 s after the old process was gone).
    assert time.monotonic() - gone < BEAT + 3


def test_a_direct_message_page_cut_off_by_sigterm_reaches_the_on_call_person_after_the_restart(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A team on the built-in rotation is paged by direct message: one stopped mid-send is sent late, once."""
    world = seed(sandbox, utc_now(), escalate="page", provider="rotation")
    clock = ReplicaClock(tmp_path / "clock", datetime.now(UTC) + timedelta(seconds=1))
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    hooks = [env.get("PYTHONPATH"), str(CLOCK_HOOK)]
    env.update(LEASE_SECONDS="3", PYTHONPATH=os.pathsep.join(p for p in hooks if p))
    env["ONCALL_TEST_CLOCK_FILE"] = str(clock.path)
    with bot_processes(sandbox, env) as start:
        old = start()
        synced(sandbox)
        # The reply and the direct message are both on their way when SIGTERM comes, and neither gets
        # through: Slack holds the connections and never acts on them.
        sandbox.slack.lose_answer("chat.postMessage", stall=60, times=2, act=False)
        _, ts = mention(sandbox, "page: the nightly load failed")
        url = database_url(tmp_path)
        dm_sql = "SELECT status FROM notices WHERE kind = 'escalation_dm'"
        wait_until(lambda: query(url, dm_sql), timeout=30)  # the DM to the on-call person is claimed
        wait_until(lambda: len(sandbox.slack.requests("chat.postMessage")) >= 2, timeout=30)
        old.send_signal(signal.SIGTERM)
        assert old.wait(timeout=30) == 0
        assert sandbox.slack.messages(CAROL) == []

        start()
        clock.jump(clock.now() + timedelta(minutes=7))  # past any Slack call the old process had sent
        status_sql = "SELECT status FROM escalations WHERE message_ts = :ts"
        wait_until(lambda: query(url, status_sql, ts=ts)[0][0] != "pending", timeout=90)
        assert query(url, status_sql, ts=ts)[0][0] == "notified"
        wait_until(lambda: sandbox.slack.messages(CAROL), timeout=30)
        assert len(sandbox.slack.messages(CAROL)) == 1  # late, once: not lost to the stop
