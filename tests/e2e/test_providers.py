"""End to end over every provider: the real `python -m app` processes against the sandbox.

The same scenario runs for an Opsgenie team, a PagerDuty team, a JSM team and a built-in rotation team
with the same turns (alice → bob → carol weekly, bob listed by Slack id in the rotation; in JSM carol
hides her email, and [people] maps her account id): the usergroup sync, `/oncall`, an escalation that
pages (a rotation team has no pager: its on-call people get direct messages), and the handover. Each
process gets only its own pager's variables; the rotation none at all.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, PROVIDERS, SCHEDULE, USERGROUP_ID, seed, write_config
from tests.conftest import environment_for

ALICE, BOB, CAROL = "U0ALICE0001", "U0BOB000001", "U0CAROL0001"
ACK_DEADLINE = 3.0
WAIT = 20.0


@dataclass
class Setup:
    """A seeded sandbox, the environment of the bot's processes and where its files are."""

    provider: str
    sandbox: Sandbox
    env: dict[str, str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `python -m app <args>` to completion."""
        command = [sys.executable, "-m", "app", *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(params=PROVIDERS)
def setup(request: pytest.FixtureRequest, sandbox: Sandbox, tmp_path: Path) -> Setup:
    provider = str(request.param)
    # The handover (and every shift change) was 3 minutes ago: the handover is due, carol took over.
    world = seed(
        sandbox, utc_now(), escalate="page", provider=provider, handover_at=utc_now() - timedelta(minutes=3)
    )
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    for name in sandbox.env():
        if not name.startswith(("SLACK_", f"{provider.upper()}_")):
            del env[name]  # only the team's own pager's variables: for the rotation, nothing but Slack's
    if provider == "rotation":
        assert not [name for name in env if name.startswith(("OPSGENIE", "PAGERDUTY", "JSM"))]
    return Setup(provider, sandbox, env)


@pytest.fixture
def running(setup: Setup) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "run"],
        env=setup.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        setup.sandbox.slack.socket.wait_connected(timeout=30)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def eventually(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until truthy: the bot works in its own process, on its own schedule."""
    deadline = time.monotonic() + WAIT
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {WAIT:.0f} s: {what}"
        time.sleep(0.05)
    return value


def ask(sandbox: Sandbox, text: str) -> str:
    envelope = sandbox.slack.socket.push_command(text, user_id=ALICE, channel_id=CHANNEL)
    ack = sandbox.slack.socket.wait_for_ack(envelope, timeout=ACK_DEADLINE)
    assert ack.latency < ACK_DEADLINE
    return str(ack.payload)


def synced(sandbox: Sandbox) -> None:
    members = eventually(
        lambda: sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL], "the sync to carol"
    )
    assert members


def test_sync_and_oncall(setup: Setup, running: subprocess.Popen[str]) -> None:
    sandbox = setup.sandbox
    synced(sandbox)  # the seeded non-on-call member (dave) was replaced by the one on call
    now = ask(sandbox, "")
    assert f"<@{CAROL}>" in now
    assert f"<@{ALICE}>" in ask(sandbox, "next")  # after carol, the turn comes back to alice
    week = ask(sandbox, "week data")
    assert f"<@{CAROL}>" in week
    assert f"<@{ALICE}>" in week  # everyone shown is looked up, not only who is on call now
    running.terminate()
    assert running.wait(timeout=10) == 0
    output = running.stdout.read() if running.stdout else ""
    assert "Traceback" not in output


def mention(sandbox: Sandbox, text: str, ts: str, *, event_id: str, retry: int = 0) -> None:
    event = {"type": "app_mention", "user": ALICE, "text": f"<@UBOT> {text}", "ts": ts, "channel": CHANNEL}
    sandbox.slack.socket.push_event(event, event_id=event_id, retry_attempt=retry)


def thread(sandbox: Sandbox, ts: str) -> list[dict[str, Any]]:
    return [m for m in sandbox.slack.messages(CHANNEL) if m.get("thread_ts") == ts]


def dms_about(sandbox: Sandbox, user_id: str, words: str) -> list[dict[str, Any]]:
    return [m for m in sandbox.slack.messages(sandbox.slack.dm_id(user_id)) if words in str(m.get("blocks"))]


def test_escalation_pages_once(setup: Setup, running: subprocess.Popen[str]) -> None:
    sandbox = setup.sandbox
    synced(sandbox)
    ts = f"{time.time():.6f}"
    mention(sandbox, "checkout is down, P2", ts, event_id="Ev0PAGE00001")
    replies = eventually(
        lambda: len(thread(sandbox, ts)) >= 2 and thread(sandbox, ts), "the reply and the outcome"
    )
    assert f"<@{CAROL}>" in replies[0]["text"]
    if setup.provider == "opsgenie":
        [alert] = sandbox.opsgenie.alerts()
        assert alert["priority"] == "P2"
        assert alert["id"] in replies[1]["text"]
    elif setup.provider == "jsm":
        [alert] = sandbox.jsm.alerts()
        assert (alert["priority"], alert["alias"]) == ("P2", f"slack-{CHANNEL}-{ts}")
        assert alert["responders"] == [{"type": "schedule", "id": sandbox.jsm.schedule(SCHEDULE).id}]
        assert alert["id"] in replies[1]["text"]
        assert "Paging through JSM" in replies[0]["text"]
    elif setup.provider == "pagerduty":
        [incident] = sandbox.pagerduty.incidents()
        assert (incident["severity"], incident["summary"]) == ("error", "checkout is down, P2")
        assert incident["dedup_key"] == f"slack-{CHANNEL}-{ts}"
        assert incident["dedup_key"] in replies[1]["text"]
        assert "Paging through PagerDuty" in replies[0]["text"]
    else:
        assert "messaging the on-call people directly" in replies[0]["text"]
        [dm] = dms_about(sandbox, CAROL, "checkout is down")
        shown = str(dm["blocks"])
        assert f"<@{ALICE}>" in shown
        assert "Open the thread" in shown  # the thread's permalink
        assert replies[1]["text"] == (
            f"No pager to call: I sent <@{CAROL}> a direct message with this message "
            "and a link to this thread."
        )
        assert not dms_about(sandbox, ALICE, "checkout is down")
        assert not dms_about(sandbox, BOB, "checkout is down")
    # Slack redelivers the mention (the ack was late): no second reply, page or direct message.
    mention(sandbox, "checkout is down, P2", ts, event_id="Ev0PAGE00001", retry=1)
    time.sleep(1.0)  # let a wrong second delivery show up before counting (not for correctness)
    assert len(thread(sandbox, ts)) == 2
    if setup.provider == "opsgenie":
        assert len(sandbox.opsgenie.alerts()) == 1
    elif setup.provider == "jsm":
        [alert] = sandbox.jsm.alerts()
        assert alert["count"] == 1  # not even a create for JSM to deduplicate
    elif setup.provider == "pagerduty":
        assert len(sandbox.pagerduty.events()) == 1  # not even a second event for PagerDuty to fold
    else:
        assert len(dms_about(sandbox, CAROL, "checkout is down")) == 1


def test_handover_is_posted_once(setup: Setup) -> None:
    sandbox = setup.sandbox
    synced_run = setup.cli("sync")
    assert synced_run.returncode == 0, synced_run.stdout + synced_run.stderr
    first = setup.cli("handover")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "== team data: posted" in first.stdout
    [post] = [m for m in sandbox.slack.messages(CHANNEL) if "On-call handover" in m["text"]]
    shown = str(post["blocks"])
    assert f"<@{CAROL}>" in shown  # incoming
    # Outgoing: the rotation lists bob by Slack id; a pager's email is looked up like everyone shown.
    assert f"<@{BOB}>" in shown
    again = setup.cli("handover")
    assert "already_posted" in again.stdout
    assert len([m for m in sandbox.slack.messages(CHANNEL) if "On-call handover" in m["text"]]) == 1
    if setup.provider == "rotation":
        lookups = [r.params.get("email") for r in sandbox.slack.requests("users.lookupByEmail")]
        assert "u0bob000001" not in [str(e).lower() for e in lookups]
