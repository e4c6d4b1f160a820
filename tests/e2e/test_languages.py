"""End to end in Japanese: a `ja` team, and a `ja-JP` reader in an `en` team, through the real processes.

`python -m app run` answers /oncall and escalates a mention; `python -m app handover` posts the
handover (the running bot would at the handover time; the CLI is the same code, now). The team's
channel speaks the team's language; /oncall answers, DMs and the handover DM speak the reader's.
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
from app.sandbox.world import CHANNEL, USERGROUP_ID, seed, write_config
from tests.conftest import environment_for

ALICE, CAROL = "U0ALICE0001", "U0CAROL0001"
WAIT = 20.0
JAPANESE = "オンコール"


@dataclass
class Bot:
    """The running bot's environment and process."""

    sandbox: Sandbox
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `python -m app <args>` to completion."""
        command = [sys.executable, "-m", "app", *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120, check=False)

    def run(self) -> None:
        """Start `python -m app run` and wait for its Socket Mode connection."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "run"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.sandbox.slack.socket.wait_connected(timeout=30)


def eventually(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until truthy: the bot works in its own process, on its own schedule."""
    deadline = time.monotonic() + WAIT
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {WAIT:.0f} s: {what}"
        time.sleep(0.05)
    return value


def start(sandbox: Sandbox, tmp_path: Path, *, language: str | None) -> Iterator[Bot]:
    # A rotation team (no pager: an escalation messages the on-call people); its handover was 3 minutes
    # ago, when carol came on call.
    now = utc_now()
    handover = now - timedelta(minutes=3)
    world = seed(sandbox, now, escalate="page", provider="rotation", handover_at=handover, language=language)
    if language is None:
        sandbox.slack.set_user(CAROL, locale="ja-JP")  # an English team; carol reads Slack in Japanese
    bot = Bot(sandbox, environment_for(sandbox, tmp_path, write_config(tmp_path, world.config_text)))
    try:
        yield bot
    finally:
        if bot.process is not None and bot.process.poll() is None:
            bot.process.kill()
            bot.process.wait(timeout=10)


@pytest.fixture
def japanese_team(sandbox: Sandbox, tmp_path: Path) -> Iterator[Bot]:
    """A team with language = "ja" whose people read Slack in Japanese."""
    yield from start(sandbox, tmp_path, language="ja")


@pytest.fixture
def english_team(sandbox: Sandbox, tmp_path: Path) -> Iterator[Bot]:
    """An English team; carol, on call since its handover, reads Slack in Japanese."""
    yield from start(sandbox, tmp_path, language=None)


def ask(sandbox: Sandbox, text: str, user: str) -> dict[str, Any]:
    envelope = sandbox.slack.socket.push_command(text, user_id=user, channel_id=CHANNEL)
    ack = sandbox.slack.socket.wait_for_ack(envelope, timeout=3)
    assert ack.latency < 3
    assert ack.payload is not None
    return ack.payload


def shown(message: dict[str, Any]) -> str:
    return str(message.get("text")) + str(message.get("blocks"))


def mention(sandbox: Sandbox, text: str) -> str:
    ts = f"{time.time():.6f}"
    event = {"type": "app_mention", "user": ALICE, "text": f"<@UBOT> {text}", "ts": ts, "channel": CHANNEL}
    sandbox.slack.socket.push_event(event, event_id=f"Ev{ts.replace('.', '')}")
    return ts


def thread(sandbox: Sandbox, ts: str) -> list[dict[str, Any]]:
    return [m for m in sandbox.slack.messages(CHANNEL) if m.get("thread_ts") == ts]


def dms(sandbox: Sandbox, user_id: str, words: str) -> list[dict[str, Any]]:
    return [m for m in sandbox.slack.messages(sandbox.slack.dm_id(user_id)) if words in shown(m)]


def handover_posts(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [m for m in sandbox.slack.messages(CHANNEL) if "引き継ぎ" in m["text"] or "handover" in m["text"]]


def test_a_japanese_team_hears_oncall_an_escalation_and_the_handover_in_japanese(japanese_team: Bot) -> None:
    bot, sandbox = japanese_team, japanese_team.sandbox
    assert bot.cli("sync").returncode == 0
    dry = bot.cli("handover", "--dry-run")
    assert "== team data: dry_run" in dry.stdout  # the admin's line stays English
    assert "オンコール引き継ぎ: data" in dry.stdout  # the post as the channel would read it
    assert "*シフト:*" in dry.stdout

    bot.run()
    help_answer = ask(sandbox, "help", ALICE)
    assert help_answer["text"] == "/oncall の使い方"
    assert "`/oncall next [team]` 次の担当者と交代の日時" in shown(help_answer)  # commands stay as typed
    now = ask(sandbox, "", ALICE)
    assert now["text"] == f"data の現在のオンコール担当: <@{CAROL}>"

    ts = mention(sandbox, "チェックアウトが落ちています, P2")
    reply, outcome = eventually(lambda: len(thread(sandbox, ts)) >= 2 and thread(sandbox, ts), "two replies")
    assert f"<@{CAROL}> が data のオンコール担当です。" in reply["text"]
    assert "呼び出せるページャーがないため" in outcome["text"]
    assert "解決する" in shown(outcome)  # the button, in Japanese
    [dm] = eventually(lambda: dms(sandbox, CAROL, "チェックアウト"), "carol's DM")
    assert "のオンコール担当を呼んでいます(P2)" in shown(dm)
    assert "スレッドを開く" in shown(dm)  # the link to the thread

    posted = bot.cli("handover")
    assert "== team data: posted" in posted.stdout, posted.stdout + posted.stderr
    [post] = handover_posts(sandbox)
    assert post["text"].startswith("data のオンコール引き継ぎ:")
    assert "前シフトのエスカレーション" in shown(post)
    [incoming] = eventually(lambda: dms(sandbox, CAROL, "前シフトから"), "the incoming DM")
    assert "あなたは " in shown(incoming)


def test_a_japanese_reader_in_an_english_team_reads_private_answers_in_japanese(english_team: Bot) -> None:
    bot, sandbox = english_team, english_team.sandbox
    assert bot.cli("sync").returncode == 0
    bot.run()
    eventually(lambda: sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL], "the sync")
    first = ask(sandbox, "me", CAROL)  # her locale is fetched after this ack: the team's language first
    assert JAPANESE not in shown(first)

    def in_japanese() -> dict[str, Any] | None:
        answer = ask(sandbox, "me", CAROL)
        return answer if JAPANESE in shown(answer) else None

    again = eventually(in_japanese, "carol's answer in her language once her profile is cached")
    assert again["text"].startswith("現在、")
    assert "*data* のオンコール担当です" in shown(again)
    assert JAPANESE not in shown(ask(sandbox, "", ALICE))  # alice reads Slack in English

    ts = mention(sandbox, "checkout is down, P2")
    reply, outcome = eventually(lambda: len(thread(sandbox, ts)) >= 2 and thread(sandbox, ts), "two replies")
    assert f"<@{CAROL}> is on call for data." in reply["text"]  # the channel: the team's language
    assert outcome["text"].startswith("No pager to call")
    [dm] = eventually(lambda: dms(sandbox, CAROL, "checkout is down"), "carol's DM")
    assert "のオンコール担当を呼んでいます(P2)" in shown(dm)  # her DM: her language

    posted = bot.cli("handover")
    assert "== team data: posted" in posted.stdout, posted.stdout + posted.stderr
    [post] = handover_posts(sandbox)
    assert post["text"].startswith("On-call handover for data:")
    assert JAPANESE not in shown(post)
    [incoming] = eventually(lambda: dms(sandbox, CAROL, "前シフトから"), "carol's handover DM")
    assert incoming["text"].startswith("あなたは ")  # the DM to the incoming person: her language
