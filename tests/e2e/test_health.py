"""End to end: `python -m app run` with HEALTH_ADDR serves /healthz, /readyz and /metrics."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World, write_config
from tests.conftest import environment_for


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(what: str, found: Callable[[], object], timeout: float = 20) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def health_bot(sandbox: Sandbox, world: World, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    env["HEALTH_ADDR"] = "127.0.0.1:0"  # the bot logs the port it got
    log = tmp_path / "bot.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "run"], env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    try:
        url = wait_for(
            "the health server's address in the log",
            lambda: (m := re.search(r"health and metrics at (http://\S+)", log.read_text())) and m.group(1),
        )
        yield process, str(url)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def ack_count(metrics_text: str, command: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "oncall_ack_seconds":
            for sample in family.samples:
                if sample.name.endswith("_count") and sample.labels.get("command") == command:
                    return sample.value
    return 0.0


def test_health_ready_metrics_then_not_ready_without_socket_mode(
    sandbox: Sandbox, health_bot: tuple[subprocess.Popen[str], str]
) -> None:
    process, url = health_bot
    status, body = get(f"{url}/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok"}

    # ready once connected and the first refresh (at start) is recorded in the database
    wait_for("/readyz to answer 200", lambda: get(f"{url}/readyz")[0] == 200)
    ready = json.loads(get(f"{url}/readyz")[1])
    assert ready == {"status": "ready", "checks": {"socket_mode": "ok", "database": "ok", "refresh": "ok"}}

    for text in ("", "next", "week"):
        envelope = sandbox.slack.socket.push_command(text, user_id="U0ALICE0001", channel_id=CHANNEL)
        assert sandbox.slack.socket.wait_for_ack(envelope, timeout=3).payload is not None
    synced = 'oncall_sync_total{result="updated",team="data"} 1.0'

    def counted() -> tuple[int, str] | None:
        # An ack is observed just after it is sent, and the first sync ends after /readyz turns 200.
        answer = get(f"{url}/metrics")
        return answer if ack_count(answer[1], "/oncall") == 3 and synced in answer[1] else None

    status, metrics = cast(tuple[int, str], wait_for("/metrics to count the acks and the sync", counted))
    assert status == 200
    assert ack_count(metrics, "/oncall") == 3
    assert synced in metrics
    assert 'oncall_usergroup_writes_total{team="data"} 1.0' in metrics
    assert re.search(r'^oncall_last_refresh_age_seconds\{team="data"\} \d', metrics, re.MULTILINE)
    assert "oncall_outbox_depth 0.0" in metrics

    sandbox.slack.socket.stop()  # Slack's Socket Mode goes away; the bot keeps trying to reconnect
    wait_for("/readyz to answer 503", lambda: get(f"{url}/readyz")[0] == 503)
    not_ready = json.loads(get(f"{url}/readyz")[1])
    assert not_ready["status"] == "not ready"
    assert "Socket Mode is not connected" in not_ready["checks"]["socket_mode"]
    assert not_ready["checks"]["database"] == "ok"
    assert get(f"{url}/healthz")[0] == 200  # alive all the same: a restart would not bring Slack back

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_a_health_port_in_use_stops_the_bot_before_it_does_anything(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env["HEALTH_ADDR"] = f"127.0.0.1:{taken.getsockname()[1]}"
        done = subprocess.run(
            [sys.executable, "-m", "app", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert f"cannot serve HEALTH_ADDR {env['HEALTH_ADDR']}" in done.stdout + done.stderr
    # Nothing was done first: no pager asked (no cycle ran), no group written, no envelope acked.
    assert sandbox.opsgenie.requests() == []
    assert sandbox.slack.requests("usergroups.users.update") == []
    assert sandbox.slack.requests("usergroups.list") == []

    # And nothing is held: a bot started now leads at once (it syncs the group without waiting for a
    # lease to run out).
    del env["HEALTH_ADDR"]
    process = subprocess.Popen([sys.executable, "-m", "app", "run"], env=env, text=True)
    try:
        wait_for("the next start's first sync", lambda: sandbox.slack.requests("usergroups.users.update"))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
