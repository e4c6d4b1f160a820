"""Work a listener hands over to run once its ack is sent (users.info for a new asker, say)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest

AFTER_ACK = "after_ack"  # in a listener's context, put there by dispatch()
Work = Callable[[], object]


def dispatch(app: App, body: Any, headers: Any) -> tuple[BoltResponse, list[Work]]:
    """Bolt's answer to a Socket Mode envelope's payload, and the work its listener left for after the ack."""
    later: list[Work] = []
    context = {AFTER_ACK: later.append}
    request = BoltRequest(body=body, headers=headers, context=context, mode="socket_mode")
    return app.dispatch(request), later


def after_ack(context: BoltContext, work: Work) -> None:
    """Run ``work`` once the listener's ack has been sent (at once where no connection of ours runs it).

    With process_before_response Bolt sends the ack only when the listener returns: anything the
    listener does after ``ack()``, even starting a thread, would delay it.
    """
    context.get(AFTER_ACK, _run_now)(work)


def _run_now(work: Work) -> None:
    work()
