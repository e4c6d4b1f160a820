"""The bot's Socket Mode connection: Slack's disconnects are followed by a new connection at once.

Slack sends ``disconnect`` (``warning`` about 10 s before it closes a connection, ``refresh_requested``
every few hours) and expects the app to reconnect without losing work. The sandbox sends no pings here:
frequent pings would wake a reader blocked in recv and hide a stalled reconnect.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from app.sandbox import Sandbox
from app.sandbox.world import OTHER_CHANNEL, teams_toml
from app.wiring import RunningBot
from tests.conftest import BotFactory


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    box.slack.socket.ping_interval = None
    with box:
        yield box


@pytest.fixture
def bot(sandbox: Sandbox, make_bot: BotFactory) -> RunningBot:
    sandbox.slack.add_channel(OTHER_CHANNEL, name="random")
    return make_bot(teams_toml())


def acked_within(sandbox: Sandbox, seconds: float, connection: int | None = None) -> int:
    """Push /oncall help; the connection its ack came on, failing unless it came within ``seconds``."""
    pushed = time.monotonic()
    envelope = sandbox.slack.socket.push_command("help", channel_id=OTHER_CHANNEL, connection=connection)
    ack = sandbox.slack.socket.wait_for_ack(envelope, timeout=5)
    assert time.monotonic() - pushed < seconds
    assert ack.payload is not None
    assert "/oncall" in str(ack.payload)
    return ack.connection


@pytest.mark.parametrize(("reason", "close_after"), [("warning", 10.0), ("refresh_requested", 0.2)])
def test_a_command_right_after_a_disconnect_is_acked_at_once_on_the_new_connection(
    sandbox: Sandbox, bot: RunningBot, reason: str, close_after: float
) -> None:
    [old] = sandbox.slack.socket.connection_ids()
    sandbox.slack.socket.disconnect(reason, close_after=close_after)
    # Queued by the sandbox until the new connection says hello, as Slack does: one second is plenty
    # for a reconnect, where the built-in client waited out a 3-second read of the old socket.
    new = acked_within(sandbox, 1.0)
    assert new != old
    assert bot.handler.is_connected()
    for _ in range(3):  # and it stays the connection in use
        assert acked_within(sandbox, 1.0) == new


def test_an_envelope_on_the_old_connection_is_still_acked_after_a_warning(
    sandbox: Sandbox, bot: RunningBot
) -> None:
    [old] = sandbox.slack.socket.connection_ids()
    sandbox.slack.socket.disconnect("warning", close_after=10.0)
    acked_within(sandbox, 1.0)  # the new connection is up
    assert acked_within(sandbox, 1.0, connection=old) == old  # Slack may still deliver on the old one


def test_a_connection_slack_drops_is_replaced(sandbox: Sandbox, bot: RunningBot) -> None:
    [old] = sandbox.slack.socket.connection_ids()
    sandbox.slack.socket.disconnect("link_disabled", close_after=0.0)  # closed at once, no warning
    assert acked_within(sandbox, 3.0) != old
