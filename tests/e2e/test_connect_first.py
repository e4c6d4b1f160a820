"""`run` opens Socket Mode before it builds the store: what arrives at hello waits for the real answer.

The bot's interpreter gets a sitecustomize that holds its first ``import sqlalchemy`` (the start of the
store, the runtime and the listeners), or of ``alembic`` (a migration), until the test says go, over a
pipe: so the test knows, without timing anything, what the bot had done when it got there.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World, write_config
from app.store.startup import open_database
from tests.conftest import environment_for

# `run` connects first on a SQLite file it can read at this schema (on PostgreSQL it builds first, as before).
pytestmark = pytest.mark.sqlite_file

ALICE, CAROL = "U0ALICE0001", "U0CAROL0001"
WAIT = 30.0  # generous: only a bot that is wrong waits this long

# Holds the first import of GATE_MODULE: tells the test through one pipe, waits for a byte on the other.
GATE = """
import os, sys

class _Gate:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ["GATE_MODULE"]:
            sys.meta_path.remove(self)
            os.write(int(os.environ["GATE_REACHED_FD"]), b"r")
            os.read(int(os.environ["GATE_GO_FD"]), 1)
        return None

sys.meta_path.insert(0, _Gate())
"""


@dataclass
class Gated:
    """A `python -m app run` held at its first import of a module until ``go()``."""

    process: subprocess.Popen[bytes]
    output: Path  # its stdout and stderr
    reached_fd: int
    go_fd: int

    def wait_reached(self) -> None:
        """Block until the bot is at the gated import (nothing of that module is loaded yet)."""
        ready, _, _ = select.select([self.reached_fd], [], [], WAIT)
        assert ready, f"the bot did not reach the gated import within {WAIT:g} s"
        assert os.read(self.reached_fd, 1) == b"r", "the bot exited before the gated import"

    def go(self) -> None:
        """Let the import (and the rest of the start) go on."""
        os.write(self.go_fd, b"g")


@contextmanager
def gated_bot(env: dict[str, str], tmp_path: Path, module: str = "sqlalchemy") -> Iterator[Gated]:
    """Start the bot held at its first import of ``module``; kill it at the end if it is still running."""
    site = tmp_path / "gate"
    site.mkdir()
    (site / "sitecustomize.py").write_text(GATE, encoding="utf-8")
    reached_r, reached_w = os.pipe()
    go_r, go_w = os.pipe()
    env = env | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")])),
        "GATE_REACHED_FD": str(reached_w),
        "GATE_GO_FD": str(go_r),
        "GATE_MODULE": module,
    }
    output = tmp_path / "bot.log"
    with output.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "run"],
            env=env,
            pass_fds=(reached_w, go_r),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    os.close(reached_w)  # the child's copies only: a bot that dies closes them, and reads see EOF
    os.close(go_r)
    try:
        yield Gated(process, output, reached_r, go_w)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        os.close(reached_r)
        os.close(go_w)


def sync_by_cli(env: dict[str, str]) -> None:
    """`oncall-bot sync` once: the cache filled through the product's own path, the schema current."""
    sync = [sys.executable, "-m", "app", "sync"]
    synced = subprocess.run(sync, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert synced.returncode == 0, synced.stdout + synced.stderr


def test_a_command_pushed_at_hello_before_the_runtime_exists_gets_the_real_answer(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    # The cache filled through the product's own path (and the schema current, as a restart finds it).
    sync_by_cli(env)

    with gated_bot(env, tmp_path) as bot:
        sandbox.slack.socket.wait_connected(timeout=WAIT)  # hello: before any of the store is imported
        envelope = sandbox.slack.socket.push_command("", user_id=ALICE, channel_id=CHANNEL)
        bot.wait_reached()  # the bot is now held at its first SQLAlchemy import: it has no runtime yet
        assert envelope not in {ack.envelope_id for ack in sandbox.slack.socket.acks()}
        bot.go()
        ack = sandbox.slack.socket.wait_for_ack(envelope, timeout=WAIT)
        assert ack.accepted
        assert ack.payload is not None
        assert f"<@{CAROL}>" in json.dumps(ack.payload)  # the answer from the cache: carol is on call
        # and it keeps answering once started
        later = sandbox.slack.socket.push_command("help", user_id=ALICE, channel_id=CHANNEL)
        assert "How to use /oncall" in str(sandbox.slack.socket.wait_for_ack(later, timeout=WAIT).payload)


def test_a_database_unusable_after_hello_fails_as_before_and_closes_the_connection_unanswered(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    open_database(env["DATABASE_URL"]).dispose()  # current: run connects first
    database = Path(env["DATABASE_URL"].removeprefix("sqlite:///"))
    with gated_bot(env, tmp_path) as bot:
        sandbox.slack.socket.wait_connected(timeout=WAIT)
        envelope = sandbox.slack.socket.push_command("", user_id=ALICE, channel_id=CHANNEL)
        bot.wait_reached()
        database.write_bytes(b"not a database any more")  # e.g. a restore gone wrong, under the start
        bot.go()
        assert bot.process.wait(timeout=WAIT) == 1
        output = bot.output.read_text(encoding="utf-8")
        assert "oncall-bot: cannot start: cannot open or upgrade the database" in output
        assert "the file is not a SQLite database" in output
        assert "Traceback" not in output
        # Nothing was answered with what the bot could not know, and it closed its connection itself.
        assert envelope not in {ack.envelope_id for ack in sandbox.slack.socket.acks()}
        assert sandbox.slack.socket.wait_all_closed(timeout=WAIT) == [1000]


def test_an_unusable_database_is_told_before_any_connection_opens(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    env["DATABASE_URL"] = "sqlite:////proc/no-such-dir/oncall.db"
    done = subprocess.run(
        [sys.executable, "-m", "app", "run"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert "oncall-bot: cannot start: cannot open or upgrade the database" in done.stderr
    assert "Traceback" not in done.stderr
    assert sandbox.slack.socket.wait_all_closed(timeout=WAIT) == []  # Slack never saw a connection


def test_a_new_database_is_migrated_before_the_connection_opens(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    # A migration may take long, or wait for another replica's (PostgreSQL): meanwhile Slack must send
    # envelopes to the replicas that can answer them, so a schema behind is built first, as before.
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    with gated_bot(env, tmp_path, module="alembic") as bot:
        bot.wait_reached()  # the schema was found behind: Alembic is about to migrate it
        assert sandbox.slack.socket.wait_all_closed(timeout=WAIT) == []  # no connection was ever opened
        bot.go()
        sandbox.slack.socket.wait_connected(timeout=WAIT)
        envelope = sandbox.slack.socket.push_command("help", user_id=ALICE, channel_id=CHANNEL)
        ack = sandbox.slack.socket.wait_for_ack(envelope, timeout=WAIT)
        assert "How to use /oncall" in str(ack.payload)
        assert ack.latency < 3.0  # built before hello: answered at once, however long the migration took


def test_nothing_between_hello_and_the_answer_waits_on_slack(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    # Once connected, Slack sends this replica envelopes it must ack within 3 s: building the rest of
    # the bot must not call Slack again (Bolt's App verifies its token with auth.test unless told not
    # to), or a throttled or slow Slack holds every envelope that arrived at hello past the limit.
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    sync_by_cli(env)

    with gated_bot(env, tmp_path) as bot:
        sandbox.slack.socket.wait_connected(timeout=WAIT)
        asked = len(sandbox.slack.requests("auth.test"))  # run's own, before hello
        envelope = sandbox.slack.socket.push_command("", user_id=ALICE, channel_id=CHANNEL)
        bot.wait_reached()
        sandbox.slack.rate_limit("auth.test", retry_after=4)  # Slack throttles from now on, once
        let_go = time.monotonic()
        bot.go()
        ack = sandbox.slack.socket.wait_for_ack(envelope, timeout=WAIT)
        answered_within = time.monotonic() - let_go
        assert answered_within < 3.0  # Slack's limit: a later ack shows the user an error instead
        assert f"<@{CAROL}>" in json.dumps(ack.payload)
        assert len(sandbox.slack.requests("auth.test")) == asked  # the build asked Slack nothing more


@pytest.mark.parametrize("schema", ["current", "new"])  # connected first, or built (migrated) first
@pytest.mark.parametrize("method", ["auth.test", "apps.connections.open"])
def test_sigterm_while_slack_holds_the_start_stops_within_ten_seconds_as_a_stop(
    sandbox: Sandbox, world: World, tmp_path: Path, method: str, schema: str
) -> None:
    # Slack takes the request and answers nothing (a stalled edge): the call would wait out its 15 s
    # timeout. A SIGTERM meanwhile (a deploy, Ctrl-C) is a stop like any other: gone within the README's
    # 10 s, exit 0, and no "cannot start" sentence blaming the tokens.
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text))
    if schema == "current":
        open_database(env["DATABASE_URL"]).dispose()  # run connects first
    sandbox.slack.lose_answer(method, stall=40, act=False)
    output = tmp_path / "bot.log"
    with output.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + WAIT
        while not sandbox.slack.requests(method):  # the bot is now waiting on Slack's answer
            assert time.monotonic() < deadline, f"the bot never called {method}"
            assert process.poll() is None, output.read_text(encoding="utf-8")
            time.sleep(0.05)
        stopped = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=WAIT)
        took = time.monotonic() - stopped
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    said = output.read_text(encoding="utf-8")
    assert took < 10.0, said
    assert code == 0, said
    assert "cannot start" not in said
    assert "Traceback" not in said
    assert sandbox.slack.socket.wait_all_closed(timeout=WAIT) == []  # it never connected
