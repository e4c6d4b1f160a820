"""`run` hands the GIL to a waiting thread after 1 ms: an ack's reads do not wait behind a busy job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import cli
from app.config import ConfigError


@pytest.fixture
def default_interval() -> Iterator[None]:
    """CPython's switch interval, restored after the test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield
    sys.setswitchinterval(before)


def test_run_sets_the_switch_interval_before_it_reads_its_settings(
    default_interval: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")  # leave this process's allocator alone
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError):  # no tokens: run stops at its settings, the interval already set
        cli.cmd_run(argparse.Namespace())
    assert sys.getswitchinterval() == pytest.approx(0.001)  # CPython's default: 5 ms
