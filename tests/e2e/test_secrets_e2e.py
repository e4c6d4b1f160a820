"""End to end: with secrets that carry whitespace, no secret leaves the bot by any way out.

Every secret given with the surrounding whitespace a Kubernetes Secret or a copy-paste adds; the pager
echoes the key in an error; the real `sync`, `check`, `who` and `python -m app run` (at DEBUG) go through
the suite's scenarios. Then no secret, nor its last 8 characters, may be found in anything Slack
received, anything printed, any log line, or any row of any table.
"""

from __future__ import annotations

import json
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, seed, write_config
from tests.conftest import environment_for

ALICE, BOT = "U0ALICE0001", "UBOT"


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll until ``predicate`` is truthy; fail the test when it never is."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)
    return value


class Secrets:
    """Fresh, unguessable credentials for one test (so that their tails cannot occur by chance)."""

    def __init__(self) -> None:
        self.bot = f"xoxb-{secrets.randbelow(10**12)}-{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"
        self.app = f"xapp-1-A0SANDBOX-{secrets.randbelow(10**12)}-{secrets.token_hex(16)}"
        self.genie = str(uuid.uuid4())
        self.verification = secrets.token_hex(12)

    def all(self) -> dict[str, str]:
        """Every secret by name."""
        return {
            "SLACK_BOT_TOKEN": self.bot,
            "SLACK_APP_TOKEN": self.app,
            "OPSGENIE_API_KEY": self.genie,
            "Slack verification token": self.verification,
        }


@pytest.fixture
def creds() -> Secrets:
    return Secrets()


@pytest.fixture
def box(creds: Secrets) -> Iterator[Sandbox]:
    sandbox = Sandbox()
    sandbox.slack.bot_token, sandbox.slack.app_token = creds.bot, creds.app
    sandbox.opsgenie.api_key = creds.genie
    sandbox.slack.socket.verification_token = creds.verification
    with sandbox:
        yield sandbox


def assert_hidden(creds: Secrets, where: str, text: str) -> None:
    """No secret, nor its last 8 characters, in ``text``."""
    for name, secret in creds.all().items():
        assert secret not in text, f"{name} found in {where}"
        assert secret[-8:] not in text, f"the last 8 characters of {name} found in {where}"


def echo_the_key(box: Sandbox, key: str, times: int) -> None:
    """The pager answers with an error that quotes the key back, as a misconfigured proxy does."""
    body = json.dumps({"message": f"Invalid key {key} (Authorization: GenieKey {key})", "took": 0})
    box.opsgenie.fail(400, times=times, path_contains="/v2/schedules", body=body)


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=90, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    return f"$ oncall-bot {' '.join(args)} (exit {done.returncode})\n{done.stdout}\n{done.stderr}"


def database_dump(path: Path) -> str:
    """Every row of every table, as text."""
    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            f"{table}: {row!r}"
            for table in tables
            for row in connection.execute(f'SELECT * FROM "{table}"')  # noqa: S608
        )


def slack_received(box: Sandbox) -> str:
    """Everything the bot sent Slack: every Web API request, every ack, every response_url post."""
    requests = [{"method": r.method, "params": r.params} for r in box.slack.requests()]
    acks = [ack.payload for ack in box.slack.socket.acks()]
    return json.dumps([requests, acks, box.slack.responses()], default=str)


@pytest.mark.sqlite_file  # it reads the stored text from the SQLite file
def test_no_secret_reaches_slack_cli_logs_or_the_database(
    box: Sandbox, creds: Secrets, tmp_path: Path
) -> None:
    world = seed(box, utc_now(), escalate="page")
    env = environment_for(box, tmp_path, write_config(tmp_path, world.config_text))
    env.update(
        SLACK_BOT_TOKEN=f"{creds.bot} \n",
        SLACK_APP_TOKEN=f"{creds.app}\r\n",
        OPSGENIE_API_KEY=f"\t{creds.genie}\n",  # what `echo key | base64` into a Kubernetes Secret gives
        LOG_LEVEL="DEBUG",
    )
    printed: list[str] = []

    # The CLI: a good sync (the stripped key works), one while the pager quotes the key back (an outage
    # notice, a stored reason), who and check saying so, then a good sync again (the recovery notice).
    printed.append(cli(env, "sync"))
    echo_the_key(box, creds.genie, times=1)
    printed.append(cli(env, "sync"))
    printed.append(cli(env, "who"))
    echo_the_key(box, creds.genie, times=1)
    printed.append(cli(env, "check"))
    printed.append(cli(env, "sync"))
    assert_hidden(creds, "CLI output", "\n".join(printed))
    assert "on call:" in printed[0]  # the stripped key was accepted

    # The running bot at DEBUG: its first cycle meets the echoing pager again; then /oncall, a mention
    # that pages, and the App Home.
    log_path = tmp_path / "run.log"
    echo_the_key(box, creds.genie, times=1)
    before = len(box.opsgenie.requests("/v2/schedules"))
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "run"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        try:
            box.slack.socket.wait_connected(timeout=30)
            wait_until(lambda: len(box.opsgenie.requests("/v2/schedules")) > before)
            for text in ("help", "", "week", "me"):
                envelope = box.slack.socket.push_command(text, user_id=ALICE, channel_id=CHANNEL)
                assert box.slack.socket.wait_for_ack(envelope, timeout=5).payload is not None
            event = {
                "type": "app_mention",
                "user": ALICE,
                "text": f"<@{BOT}> page: db is down",
                "channel": CHANNEL,
            }
            box.slack.socket.push_event({**event, "ts": f"{time.time():.6f}"})
            box.slack.socket.push_event({"type": "app_home_opened", "user": ALICE, "tab": "home"})
            wait_until(lambda: box.opsgenie.alerts() and box.slack.views(ALICE))
            wait_until(lambda: any(m.get("thread_ts") for m in box.slack.messages(CHANNEL)))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
    logs = log_path.read_text()
    assert "DEBUG" in logs
    assert "slash_commands" in logs  # the envelopes were logged, redacted

    places = {
        "Slack": slack_received(box),
        "the pager's alerts": json.dumps(box.opsgenie.alerts(), default=str),
        "the run log": logs,
        "the database": database_dump(tmp_path / "oncall.db"),
    }
    for where, text in places.items():
        assert_hidden(creds, where, text)
    assert f"{box.slack.base_url}commands/" not in logs, "a response_url was logged"
    unreachable = [m["text"] for m in box.slack.messages(CHANNEL) if "Opsgenie refused" in m.get("text", "")]
    assert all("[redacted]" in text for text in unreachable)
