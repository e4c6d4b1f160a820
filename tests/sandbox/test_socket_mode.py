"""The sandbox Socket Mode server, driven by real Bolt apps on slack_sdk's builtin client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from app.sandbox.slack_web import SlackSandbox

BOT = "xoxb-sandbox"
APP = "xapp-sandbox"


@dataclass
class Seen:
    """What one Bolt app's listeners received, with a way to wait for it."""

    items: list[dict[str, Any]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, item: dict[str, Any]) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait(self, count: int, timeout: float = 3.0) -> list[dict[str, Any]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.items) >= count, timeout), self.items
            return list(self.items)


@dataclass
class Bot:
    """A connected Bolt app and what it saw."""

    handler: SocketModeHandler
    seen: Seen


ConnectBot = Callable[[], Bot]


@pytest.fixture
def slack() -> Iterator[SlackSandbox]:
    with SlackSandbox() as sandbox:
        sandbox.add_user("U1", name="alice")
        sandbox.add_channel("C1", name="ops")
        yield sandbox


def build_app(slack: SlackSandbox, seen: Seen) -> App:
    """A Bolt app with a /oncall command and an app_mention listener that record what they got."""
    app = App(client=WebClient(token=BOT, base_url=slack.api_url))

    @app.command("/oncall")
    def oncall(ack: Callable[..., None], command: dict[str, Any]) -> None:
        ack(text="hi")
        seen.add({"kind": "command", "text": command["text"], "user_id": command["user_id"]})

    @app.command("/later")
    def later(ack: Callable[..., None], respond: Callable[..., None]) -> None:
        ack()
        respond(text="done", response_type="ephemeral")

    @app.event("app_mention")
    def mention(
        event: dict[str, Any], body: dict[str, Any], request: BoltRequest, say: Callable[..., None]
    ) -> None:
        seen.add(
            {
                "kind": "event",
                "event_id": body["event_id"],
                "text": event["text"],
                "retry_num": request.headers.get("x-slack-retry-num", ["0"])[0],
                "retry_reason": request.headers.get("x-slack-retry-reason", [""])[0],
            }
        )
        say(text="on it", thread_ts=event["ts"])

    return app


@pytest.fixture
def connect_bot(slack: SlackSandbox) -> Iterator[ConnectBot]:
    bots: list[Bot] = []

    def connect() -> Bot:
        seen = Seen()
        handler = SocketModeHandler(build_app(slack, seen), APP)
        handler.connect()
        bots.append(Bot(handler, seen))
        slack.socket.wait_connected(len(bots), timeout=5)
        return bots[-1]

    yield connect
    # close() waits ~1 s on slack_sdk's message queue poll; closing in parallel pays that once.
    closers = [threading.Thread(target=bot.handler.close) for bot in bots]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join(timeout=10)


def mention(text: str = "<@UBOT> pipeline is down", ts: str = "1732723200.000100") -> dict[str, Any]:
    return {"type": "app_mention", "user": "U1", "text": text, "ts": ts, "channel": "C1", "event_ts": ts}


def test_hello_then_invalid_ticket_refused(slack: SlackSandbox) -> None:
    url = WebClient(token=APP, base_url=slack.api_url).apps_connections_open(app_token=APP)["url"]
    with ws_connect(url) as ws:
        hello = json.loads(ws.recv(timeout=2))
        assert hello == {
            "type": "hello",
            "num_connections": 1,
            "connection_info": {"app_id": "ASANDBOX"},
            "debug_info": {"host": "sandbox", "approximate_connection_time": 3600},
        }
        slack.socket.wait_connected(1, timeout=2)
    with pytest.raises(InvalidStatus):
        ws_connect(f"ws://127.0.0.1:{slack.socket.port}/link/?ticket=forged", open_timeout=2)


def test_slash_command_is_acked_with_payload(slack: SlackSandbox, connect_bot: ConnectBot) -> None:
    bot = connect_bot()
    envelope_id = slack.socket.push_command("who ops", user_id="U1", channel_id="C1")
    ack = slack.socket.wait_for_ack(envelope_id)
    assert ack.payload == {"text": "hi"}
    assert ack.latency < 3.0
    assert ack.connection == slack.socket.connection_ids()[0]
    assert bot.seen.wait(1) == [{"kind": "command", "text": "who ops", "user_id": "U1"}]
    assert slack.socket.acks() == [ack]


def test_respond_posts_to_the_sandbox_response_url(slack: SlackSandbox, connect_bot: ConnectBot) -> None:
    connect_bot()
    slack.socket.push_command(command="/later")
    deadline = time.monotonic() + 3
    while not slack.responses() and time.monotonic() < deadline:
        time.sleep(0.02)
    [response] = slack.responses()
    assert response["url"].startswith("/commands/T0SANDBOX/")
    assert response["payload"]["text"] == "done"


def test_event_runs_listener_and_says_in_thread(slack: SlackSandbox, connect_bot: ConnectBot) -> None:
    bot = connect_bot()
    envelope_id = slack.socket.push_event(mention(), event_id="Ev1")
    assert slack.socket.wait_for_ack(envelope_id).payload is None
    [seen] = bot.seen.wait(1)
    assert (seen["event_id"], seen["retry_num"]) == ("Ev1", "0")
    deadline = time.monotonic() + 3
    while not slack.messages("C1") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [(m["text"], m["thread_ts"]) for m in slack.messages("C1")] == [("on it", "1732723200.000100")]
    # The mention was a user message, so its permalink resolves.
    link = WebClient(token=BOT, base_url=slack.api_url).chat_getPermalink(
        channel="C1", message_ts="1732723200.000100"
    )["permalink"]
    assert link.endswith("/archives/C1/p1732723200000100")


def test_redeliver_keeps_event_id_and_counts_retry(slack: SlackSandbox, connect_bot: ConnectBot) -> None:
    bot = connect_bot()
    first = slack.socket.push_event(mention())
    second = slack.socket.redeliver(first)
    slack.socket.wait_for_ack(second)
    seen = bot.seen.wait(2)
    assert second != first
    assert seen[0]["event_id"] == seen[1]["event_id"]
    assert [(s["retry_num"], s["retry_reason"]) for s in seen] == [("0", ""), ("1", "timeout")]


def test_disconnect_then_client_reconnects_and_nothing_is_lost(
    slack: SlackSandbox, connect_bot: ConnectBot
) -> None:
    bot = connect_bot()
    [old] = slack.socket.connection_ids()
    slack.socket.disconnect("refresh_requested")
    assert slack.socket.connection_count == 0
    # Pushed while no connection is usable: held back, then delivered on the new connection.
    envelope_id = slack.socket.push_command("after refresh")
    slack.socket.wait_connected(timeout=5)
    [new] = slack.socket.connection_ids()
    assert new != old
    ack = slack.socket.wait_for_ack(envelope_id, timeout=5)
    assert (ack.payload, ack.connection) == ({"text": "hi"}, new)
    assert slack.socket.wait_for_ack(slack.socket.push_command("again")).connection == new
    assert [s["text"] for s in bot.seen.wait(2)] == ["after refresh", "again"]


def test_two_connections_round_robin_and_targeting(slack: SlackSandbox, connect_bot: ConnectBot) -> None:
    first, second = connect_bot(), connect_bot()
    ids = slack.socket.connection_ids()
    assert len(ids) == 2
    spread = {slack.socket.wait_for_ack(slack.socket.push_command(str(i))).connection for i in range(2)}
    assert spread == set(ids)
    # The same event reaching both replicas: each one runs its listener (Bolt does not dedupe).
    for connection in ids:
        slack.socket.push_event(mention(), event_id="EvSame", connection=connection)
    event_ids = [s["event_id"] for bot in (first, second) for s in bot.seen.wait(2) if s["kind"] == "event"]
    assert event_ids == ["EvSame", "EvSame"]


def test_unknown_connection_and_missing_ack(slack: SlackSandbox) -> None:
    with pytest.raises(LookupError):
        slack.socket.push_command("x", connection=42)
    url = WebClient(token=APP, base_url=slack.api_url).apps_connections_open(app_token=APP)["url"]
    with ws_connect(url) as ws:
        ws.recv(timeout=2)  # hello
        envelope_id = slack.socket.push_command("never acked")
        assert json.loads(ws.recv(timeout=2))["envelope_id"] == envelope_id
        with pytest.raises(TimeoutError):
            slack.socket.wait_for_ack(envelope_id, timeout=0.2)
        ws.send(json.dumps({"envelope_id": envelope_id, "payload": {"text": "late"}}))
        assert slack.socket.wait_for_ack(envelope_id).payload == {"text": "late"}
