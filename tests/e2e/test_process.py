"""End to end: the real `python -m app run` process against the sandbox over real sockets."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, USERGROUP_ID, World, write_config
from app.store.startup import open_database
from tests.conftest import environment_for

ACK_DEADLINE = 3.0


@pytest.fixture
def bot_process(sandbox: Sandbox, world: World, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    config_path = write_config(tmp_path, world.config_text)
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "run"],
        env=environment_for(sandbox, tmp_path, config_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        sandbox.slack.socket.wait_connected(timeout=30)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_help_is_answered_in_the_ack_and_sigterm_stops_cleanly(
    sandbox: Sandbox, bot_process: subprocess.Popen[str]
) -> None:
    envelope = sandbox.slack.socket.push_command("help", user_id="U0ALICE0001", channel_id=CHANNEL)
    ack = sandbox.slack.socket.wait_for_ack(envelope, timeout=ACK_DEADLINE)
    assert ack.latency < ACK_DEADLINE
    assert ack.payload is not None
    assert ack.payload["response_type"] == "ephemeral"
    assert "/oncall next" in str(ack.payload["blocks"])
    assert "How to use /oncall" in ack.payload["text"]

    started = time.monotonic()
    bot_process.send_signal(signal.SIGTERM)
    code = bot_process.wait(timeout=5)
    assert time.monotonic() - started < 5
    assert code == 0
    output = bot_process.stdout.read() if bot_process.stdout else ""
    assert "Traceback" not in output
    assert "xoxb-" not in output
    assert "xapp-" not in output


def test_the_scheduled_sync_runs_at_start(sandbox: Sandbox, bot_process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sandbox.slack.usergroup_members(USERGROUP_ID) == ["U0DAVE00001"]:
        time.sleep(0.1)
    members = sandbox.slack.usergroup_members(USERGROUP_ID)
    assert members != ["U0DAVE00001"]  # the seeded non-on-call member was replaced
    bot_process.send_signal(signal.SIGINT)
    assert bot_process.wait(timeout=5) == 0


def test_run_reconnects_after_a_refresh_request(sandbox: Sandbox, bot_process: subprocess.Popen[str]) -> None:
    sandbox.slack.socket.disconnect("refresh_requested", close_after=0.1)
    time.sleep(0.5)
    sandbox.slack.socket.wait_connected(timeout=20)
    envelope = sandbox.slack.socket.push_command("help", user_id="U0ALICE0001", channel_id=CHANNEL)
    assert sandbox.slack.socket.wait_for_ack(envelope, timeout=ACK_DEADLINE).payload is not None


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("SLACK_BOT_TOKEN", "xoxb-revoked", "Slack rejected the bot token (invalid_auth)"),
        (
            "SLACK_APP_TOKEN",
            "xapp-revoked",
            "cannot open the Socket Mode connection: apps.connections.open: Slack",
        ),
        ("DATABASE_URL", "sqlite:////proc/no-such-dir/oncall.db", "cannot open or upgrade the database"),
    ],
)
def test_run_refuses_to_start_with_one_clear_sentence(
    sandbox: Sandbox, world: World, tmp_path: Path, variable: str, value: str, said: str
) -> None:
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    env[variable] = value
    done = subprocess.run(
        [sys.executable, "-m", "app", "run"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert "oncall-bot: cannot start:" in done.stderr
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    assert value not in done.stderr or variable == "DATABASE_URL"  # tokens are never echoed


@pytest.mark.parametrize("schema", ["new", "current"])  # built first, or connected first (SQLite at head)
def test_a_websocket_slack_refuses_to_open_is_one_sentence_not_a_traceback(
    sandbox: Sandbox, world: World, tmp_path: Path, schema: str
) -> None:
    # apps.connections.open hands out a URL, but Slack's edge answers the websocket handshake with a 503
    # (an incident, a ticket it no longer takes): websockets raises InvalidStatus, not an OSError.
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    if schema == "current" and env["DATABASE_URL"].startswith("sqlite"):
        open_database(env["DATABASE_URL"]).dispose()
    sandbox.slack.socket.refuse_handshakes(times=10)
    done = subprocess.run(
        [sys.executable, "-m", "app", "run"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert "oncall-bot: cannot start: cannot open the Socket Mode connection:" in done.stderr
    assert "HTTP 503" in done.stderr
    assert "Traceback" not in done.stderr
    assert sandbox.slack.requests("apps.connections.open")  # the URL was asked for: the handshake failed
