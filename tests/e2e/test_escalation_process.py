"""Escalation through the real `python -m app run` process: what pages, what does not, and the buttons.

One bot process (with its jobs and page workers) serves every case of this module, against one sandbox
over real sockets: each case writes in its own thread and counts only the alerts of its own messages
(an alert's alias ends with the message's ts).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, USERGROUP_ID, seed, write_config
from app.slack import escalation_buttons as buttons
from tests.conftest import database_url, environment_for, keep_database
from tests.databases import query
from tests.slack.test_mentions import ALICE, BOB, CAROL, mention, thread, wait_until

GUEST = "U0GUEST0001"
WAIT = 20.0


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    """One sandbox for the module: the seeded workspace, team data paging through Opsgenie."""
    with Sandbox() as sandbox:
        sandbox.opsgenie.alert_processing_polls = 0
        yield sandbox


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the bot's teams file and database live (the database lasts the module's tests)."""
    directory = tmp_path_factory.mktemp("escalation")
    keep_database(directory)
    return directory


@pytest.fixture(scope="module")
def bot(box: Sandbox, directory: Path) -> Iterator[subprocess.Popen[str]]:
    """The bot's own process, started once, connected and past its start-up cycle (carol is on call)."""
    world = seed(box, utc_now(), escalate="page")
    # Many pages by the same people in one module: the hourly per-person limit is not what is tested here.
    config = write_config(directory, "pages_per_user_per_hour = 100\n" + world.config_text)
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "run"],
        env=environment_for(box, directory, config),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        box.slack.socket.wait_connected(timeout=30)
        wait_until(lambda: box.slack.usergroup_members(USERGROUP_ID) == [CAROL], timeout=WAIT)
        yield process
    finally:
        process.terminate()
        code = process.wait(timeout=15)
        output = process.stdout.read() if process.stdout else ""
        assert code == 0, output
        assert "Traceback" not in output


def alerts_of(box: Sandbox, ts: str) -> list[dict[str, Any]]:
    """The Opsgenie alerts raised for the message ``ts``."""
    return [a for a in box.opsgenie.alerts() if a["alias"].endswith(ts)]


def creates_of(box: Sandbox, ts: str) -> int:
    """How many alert creates Opsgenie received for the message ``ts`` (deduplicated or not)."""
    return len(
        [
            r
            for r in box.opsgenie.requests("/v2/alerts")
            if r.method == "POST" and r.body and str(r.body.get("alias", "")).endswith(ts)
        ]
    )


def escalations_of(directory: Path, ts: str) -> list[str]:
    """The statuses of the escalations the bot recorded for the message ``ts`` (read from its database).

    A mention that pages is recorded before its thread reply is posted: once the reply is seen, a page
    that should not have happened would show here.
    """
    found = query(database_url(directory), "SELECT status FROM escalations WHERE message_ts = :ts", ts=ts)
    return [str(status) for (status,) in found]


def replied(box: Sandbox, ts: str, count: int = 1) -> list[dict[str, Any]]:
    """The bot's first ``count`` messages in the thread of ``ts``, once they are there."""
    return wait_until(lambda: len(thread(box, ts)) >= count and thread(box, ts)[:count], timeout=WAIT)


def button_ids(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


@pytest.mark.parametrize("text", ["thanks!", "who is on call?"])
def test_thanks_and_who_is_on_call_raise_no_alert(
    box: Sandbox, bot: subprocess.Popen[str], directory: Path, text: str
) -> None:
    _, ts = mention(box, text)
    [reply] = replied(box, ts)
    if text == "thanks!":
        assert reply["text"] == "You're welcome."
    else:
        assert f"<@{CAROL}>" in json.dumps(reply["blocks"])  # the /oncall answer, in the thread
    assert button_ids(reply) == []
    assert escalations_of(directory, ts) == []
    assert alerts_of(box, ts) == []
    assert creates_of(box, ts) == 0


def test_page_raises_one_alert_and_a_reply_in_its_thread_raises_none(
    box: Sandbox, bot: subprocess.Popen[str], directory: Path
) -> None:
    _, ts = mention(box, "page: the payment gateway times out")
    reply, outcome = replied(box, ts, 2)
    assert f"<@{CAROL}>" in reply["text"]
    [alert] = alerts_of(box, ts)
    assert alert["message"] == "the payment gateway times out"
    assert alert["id"] in outcome["text"]

    _, follow = mention(box, "still failing after the restart, P1", thread_ts=ts)
    replied(box, ts, 3)  # the follow-up's answer, in the same thread
    assert escalations_of(directory, follow) == []  # it joined the escalation already there
    assert alerts_of(box, follow) == []
    assert creates_of(box, follow) == 0
    wait_until(
        lambda: any(
            n.get("note", "").endswith("still failing after the restart, P1") for n in alert_notes(box, ts)
        ),
        timeout=WAIT,
    )
    assert len(alerts_of(box, ts)) == 1


def alert_notes(box: Sandbox, ts: str) -> list[dict[str, Any]]:
    return [note for a in alerts_of(box, ts) for note in a.get("notes", [])]


def test_a_priority_word_raises_exactly_one_alert_at_that_priority(
    box: Sandbox, bot: subprocess.Popen[str], directory: Path
) -> None:
    _, ts = mention(box, "the revenue dashboard is empty P2")
    replied(box, ts, 2)  # the reply, and the outcome once the one create was answered
    [alert] = alerts_of(box, ts)
    assert alert["priority"] == "P2"
    assert escalations_of(directory, ts) == ["created"]
    assert creates_of(box, ts) == 1


def test_the_page_button_pages_once_however_often_it_is_pressed(
    box: Sandbox, bot: subprocess.Popen[str]
) -> None:
    _, ts = mention(box, "the nightly export looks stuck")  # no page word: tagged, with a Page button
    [reply] = replied(box, ts)
    assert buttons.PAGE_ACTION in button_ids(reply)
    assert alerts_of(box, ts) == []
    box.slack.socket.push_block_action(reply, buttons.PAGE_ACTION, user=BOB)
    box.slack.socket.push_block_action(reply, buttons.PAGE_ACTION, user=BOB)  # a double click
    [alert] = wait_until(lambda: alerts_of(box, ts), timeout=WAIT)
    wait_until(
        lambda: [e for e in box.slack.ephemerals(CHANNEL) if "already paged" in e["text"]], timeout=WAIT
    )
    box.slack.socket.push_block_action(reply, buttons.PAGE_ACTION, user=ALICE)  # later, someone else
    wait_until(
        lambda: len([e for e in box.slack.ephemerals(CHANNEL) if "already paged" in e["text"]]) == 2,
        timeout=WAIT,
    )
    assert alerts_of(box, ts) == [alert]
    assert creates_of(box, ts) == 1


def test_a_guest_cannot_page_by_word_or_by_button(box: Sandbox, bot: subprocess.Popen[str]) -> None:
    _, ts = mention(box, "page: my partner portal is down", user=GUEST)
    [reply] = replied(box, ts)
    wait_until(lambda: [e for e in box.slack.ephemerals(CHANNEL) if e["user"] == GUEST], timeout=WAIT)
    assert buttons.PAGE_ACTION in button_ids(reply)  # tagged, and a member may page for them
    box.slack.socket.push_block_action(reply, buttons.PAGE_ACTION, user=GUEST)
    wait_until(
        lambda: len([e for e in box.slack.ephemerals(CHANNEL) if e["user"] == GUEST]) == 2, timeout=WAIT
    )
    assert "Guests cannot page" in [e for e in box.slack.ephemerals(CHANNEL) if e["user"] == GUEST][1]["text"]
    assert alerts_of(box, ts) == []
    assert creates_of(box, ts) == 0


def test_acknowledge_and_resolve_reach_opsgenie_and_update_the_message(
    box: Sandbox, bot: subprocess.Popen[str]
) -> None:
    _, ts = mention(box, "page: orders are not flowing")
    _, outcome = replied(box, ts, 2)
    [alert] = alerts_of(box, ts)
    assert button_ids(outcome) == [buttons.ACK_ACTION, buttons.RESOLVE_ACTION]

    box.slack.socket.push_block_action(outcome, buttons.ACK_ACTION, user=BOB)
    [ack] = wait_until(
        lambda: [
            r for r in box.opsgenie.requests(f"/v2/alerts/{alert['id']}/acknowledge") if r.status == 202
        ],
        timeout=WAIT,
    )
    assert ack.body["user"] == f"bob ({BOB})"
    acked = wait_until(
        lambda: (m := thread(box, ts)[1]) and "Acknowledged by" in json.dumps(m) and m, timeout=WAIT
    )
    assert button_ids(acked) == [buttons.RESOLVE_ACTION]

    box.slack.socket.push_block_action(acked, buttons.RESOLVE_ACTION, user=BOB)
    wait_until(
        lambda: [r for r in box.opsgenie.requests(f"/v2/alerts/{alert['id']}/close") if r.status == 202],
        timeout=WAIT,
    )
    resolved = wait_until(
        lambda: (m := thread(box, ts)[1]) and "Resolved by" in json.dumps(m) and m, timeout=WAIT
    )
    assert button_ids(resolved) == []
    assert alerts_of(box, ts)[0]["status"] == "closed"
