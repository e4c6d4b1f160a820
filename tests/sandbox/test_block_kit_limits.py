"""The sandbox refuses what Slack refuses (msg_too_long, invalid_blocks; views: invalid_arguments)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from websockets.sync.client import connect as ws_connect

from app.sandbox.slack_web import SlackSandbox

BOT = "xoxb-sandbox"
APP = "xapp-sandbox"
LONG_SECTION = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
TOO_LONG = "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"


@pytest.fixture
def slack() -> Iterator[SlackSandbox]:
    with SlackSandbox() as sandbox:
        sandbox.add_user("U1", name="alice")
        sandbox.add_channel("C1", name="ops")
        yield sandbox


@pytest.fixture
def client(slack: SlackSandbox) -> WebClient:
    return WebClient(token=BOT, base_url=slack.api_url)


def refused(call: Any) -> dict[str, Any]:
    """The error body of a call that must fail."""
    with pytest.raises(SlackApiError) as info:
        call()
    data = info.value.response.data
    assert isinstance(data, dict)
    return data


def test_text_over_40000_characters_is_msg_too_long(slack: SlackSandbox, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x" * 40_000)
    body = refused(lambda: client.chat_postMessage(channel="C1", text="x" * 40_001))
    assert body["error"] == "msg_too_long"
    assert len(slack.messages("C1")) == 1  # the refused one was never posted


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        (LONG_SECTION, TOO_LONG),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 3001}]}],
            "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/elements/0/text]",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
            "[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        ([{"type": "divider"}] * 51, "[ERROR] no more than 50 items allowed [json-pointer:/blocks]"),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}],
            "[ERROR] no more than 10 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [{"type": "button", "text": {"type": "plain_text", "text": "go"}}] * 26,
                }
            ],
            "[ERROR] no more than 25 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [{"type": "section", "block_id": "b" * 256, "text": {"type": "mrkdwn", "text": "x"}}],
            "[ERROR] must be less than 256 characters [json-pointer:/blocks/0/block_id]",
        ),
    ],
)
def test_blocks_over_the_limits_are_invalid_blocks(
    slack: SlackSandbox, client: WebClient, blocks: list[dict[str, Any]], message: str
) -> None:
    body = refused(lambda: client.chat_postMessage(channel="C1", text="t", blocks=blocks))
    assert body["error"] == "invalid_blocks"
    assert message in body["response_metadata"]["messages"]
    assert message.removeprefix("[ERROR] ") in body["errors"]
    assert slack.messages("C1") == []


def test_the_edges_themselves_are_accepted(client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}] * 49
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "h" * 150}})
    assert client.chat_postMessage(channel="C1", text="t", blocks=blocks)["ok"]


def test_ephemeral_and_update_are_checked_too(slack: SlackSandbox, client: WebClient) -> None:
    body = refused(lambda: client.chat_postEphemeral(channel="C1", user="U1", text="t", blocks=LONG_SECTION))
    assert (body["error"], body["response_metadata"]["messages"]) == ("invalid_blocks", [TOO_LONG])
    assert slack.ephemerals() == []
    ts = client.chat_postMessage(channel="C1", text="first")["ts"]
    body = refused(lambda: client.chat_update(channel="C1", ts=ts, text="t", blocks=LONG_SECTION))
    assert body["error"] == "invalid_blocks"
    assert slack.messages("C1")[0]["text"] == "first"  # unchanged


def test_views_publish_refuses_an_over_limit_home(slack: SlackSandbox, client: WebClient) -> None:
    view = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    body = refused(lambda: client.views_publish(user_id="U1", view=view))
    assert body["error"] == "invalid_arguments"
    assert body["response_metadata"]["messages"] == [
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    ]
    huge = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "é" * 3000}}] * 99,
    }
    assert refused(lambda: client.views_publish(user_id="U1", view=huge))["error"] == "view_too_large"
    assert slack.views() == []
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}] * 100})


def test_an_ack_payload_with_invalid_blocks_is_recorded_as_refused(slack: SlackSandbox) -> None:
    url = WebClient(token=APP, base_url=slack.api_url).apps_connections_open(app_token=APP)["url"]
    with ws_connect(url) as ws:
        ws.recv(timeout=2)  # hello
        bad, good = slack.socket.push_command("a"), slack.socket.push_command("b")
        for envelope_id, blocks in ((bad, LONG_SECTION), (good, [{"type": "divider"}])):
            assert json.loads(ws.recv(timeout=2))["envelope_id"] == envelope_id
            payload = {"response_type": "ephemeral", "text": "t", "blocks": blocks}
            ws.send(json.dumps({"envelope_id": envelope_id, "payload": payload}))
        refused_ack, accepted_ack = slack.socket.wait_for_ack(bad), slack.socket.wait_for_ack(good)
    assert (refused_ack.accepted, refused_ack.error, refused_ack.messages) == (
        False,
        "invalid_blocks",
        (TOO_LONG,),
    )
    assert (accepted_ack.accepted, accepted_ack.error) == (True, None)
