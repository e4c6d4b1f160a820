"""`python -m app run` started again and again on one environment (one database), each waited on until it
is connected to the sandbox's Socket Mode; every one still running is killed at the end."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app.sandbox import Sandbox
from tests.slack.test_mentions import wait_until

Start = Callable[[], subprocess.Popen[str]]


@contextmanager
def bot_processes(sandbox: Sandbox, env: dict[str, str], *, capture: bool = False) -> Iterator[Start]:
    """A ``start()`` for bot processes on ``env``; ``capture``: their output readable from ``stdout``."""
    started: list[subprocess.Popen[str]] = []
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    err = subprocess.STDOUT if capture else subprocess.DEVNULL

    def start() -> subprocess.Popen[str]:
        known = set(sandbox.slack.socket.connection_ids())
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "run"], env=env, stdout=out, stderr=err, text=True
        )
        started.append(process)
        wait_until(lambda: set(sandbox.slack.socket.connection_ids()) - known, timeout=30)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
