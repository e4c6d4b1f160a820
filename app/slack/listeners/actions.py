"""Button presses (``block_actions``): one listener for every ``oncall.*`` action id, one dispatcher.

Thin like the others: ack within Slack's 3 seconds, read the press, hand it to the feature that owns
the action id's prefix on the background pool (a press may call the pager to acknowledge an alert).
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App

from app.lanes import MENTIONS
from app.runtime import Runtime
from app.services import escalation_presses, handover_acks, presses

# The features whose buttons the bot posts, by the second part of their action ids.
HANDLERS: dict[str, presses.Handler] = {
    "escalation": escalation_presses.handle_press,
    "shift": handover_acks.handle_press,
}


def register(app: App, runtime: Runtime) -> None:
    """Attach the block_actions listener for the bot's namespaced action ids."""

    @app.action(re.compile(rf"^{re.escape(presses.PREFIX)}"))
    def on_press(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        press = presses.press_from_payload(body)
        if press is None:
            return
        work = lambda: presses.dispatch(runtime, press, HANDLERS, runtime.now())  # noqa: E731
        runtime.background.run(f"press {press.action_id} by {press.user}", work, lane=MENTIONS)
