"""LOG_FORMAT=json: the real process writes one JSON object per line, tagged and redacted."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.logs import setup_logging
from app.sandbox import APP_TOKEN, BOT_TOKEN, Sandbox
from app.sandbox.world import CHANNEL, World, write_config
from tests.conftest import environment_for


def json_lines(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def wait_until(what: str, done: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_run_logs_json_lines_with_team_and_event_id(sandbox: Sandbox, world: World, tmp_path: Path) -> None:
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    env["LOG_FORMAT"] = "json"
    log = tmp_path / "bot.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "app", "run"], env=env, stdout=out, stderr=out)
    try:
        sandbox.slack.socket.wait_connected(timeout=30)
        wait_until("the first cycle", lambda: any(e.get("team") == "data" for e in json_lines(log)))
        event = {
            "type": "app_mention",
            "user": "U0ALICE0001",
            "text": "<@UBOT> disk full",
            "channel": CHANNEL,
        }
        event["ts"] = f"{time.time():.6f}"
        sandbox.slack.socket.push_event(event, event_id="Ev0JSONLOG1")
        wait_until(
            "the mention's log line", lambda: any(e.get("event_id") == "Ev0JSONLOG1" for e in json_lines(log))
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    entries = json_lines(log)  # every line parses, or json.loads raised above
    assert entries
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry)
    assert any(e["logger"] == "app.wiring" and "connected" in str(e["message"]) for e in entries)
    text = log.read_text(encoding="utf-8")
    assert BOT_TOKEN not in text
    assert APP_TOKEN not in text


def test_json_lines_redact_secrets_in_messages_and_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "json")
    logger = logging.getLogger("app.test")
    logger.warning("sent %s", "xoxb-1234-secret")
    try:
        raise RuntimeError("Authorization: GenieKey 0b1c-secret-key")
    except RuntimeError:
        logger.exception("failed")
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first["message"] == "sent [redacted]"
    assert first["level"] == "WARNING"
    assert "0b1c-secret-key" not in second["exception"]
    assert "RuntimeError" in second["exception"]
