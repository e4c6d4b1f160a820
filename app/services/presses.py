"""Button presses: one domain value for every ``block_actions`` payload, and one dispatcher.

Every button the bot posts has an action id under ``oncall.`` followed by its feature
(``oncall.escalation.page``, later ``oncall.shift.got_it``); the Bolt listener acks each press at once and
hands it to ``dispatch``, which finds the feature's handler by that prefix. Slack does not retry presses,
but people double-click and two people press the same button: every handler makes its press a state
transition recorded once in the database (a conditional UPDATE), so a second press changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.runtime import Runtime

log = logging.getLogger(__name__)

PREFIX = "oncall."


@dataclass(frozen=True, slots=True)
class Press:
    """One press of one of the bot's buttons (or a change of one of its selects)."""

    action_id: str
    value: str
    user: str
    channel: str
    message_ts: str
    thread_ts: str | None = None
    # The message's inputs as Slack reports them: action_id → selected option value (a priority select).
    selected: Mapping[str, str] = field(default_factory=dict)
    blocks: tuple[dict[str, Any], ...] = ()  # the pressed message's blocks, to update it in place

    @property
    def feature(self) -> str:
        """``escalation`` of ``oncall.escalation.page``."""
        return self.action_id.removeprefix(PREFIX).split(".", 1)[0]

    @property
    def verb(self) -> str:
        """``page`` of ``oncall.escalation.page``."""
        return self.action_id.removeprefix(PREFIX).partition(".")[2]


Handler = Callable[[Runtime, Press, datetime], None]


def _selected(state: Mapping[str, Any]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for inputs in (state.get("values") or {}).values():
        for action_id, entry in (inputs or {}).items():
            option = (entry or {}).get("selected_option") or {}
            if isinstance(option, dict) and option.get("value"):
                chosen[str(action_id)] = str(option["value"])
    return chosen


def press_from_payload(body: Mapping[str, Any]) -> Press | None:
    """The press in a ``block_actions`` payload, or None when it is not one of the bot's buttons."""
    actions = body.get("actions") or []
    if not actions or not str(actions[0].get("action_id") or "").startswith(PREFIX):
        return None
    action = actions[0]
    container = body.get("container") or {}
    message = body.get("message") or {}
    option = action.get("selected_option") or {}
    return Press(
        action_id=str(action["action_id"]),
        value=str(action.get("value") or option.get("value") or ""),
        user=str((body.get("user") or {}).get("id") or ""),
        channel=str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""),
        message_ts=str(container.get("message_ts") or message.get("ts") or ""),
        thread_ts=str(container.get("thread_ts") or message.get("thread_ts") or "") or None,
        selected=_selected(body.get("state") or {}),
        blocks=tuple(message.get("blocks") or ()),
    )


def dispatch(runtime: Runtime, press: Press, handlers: Mapping[str, Handler], now: datetime) -> None:
    """Hand the press to its feature's handler; a press of a button no feature owns is logged."""
    handler = handlers.get(press.feature)
    if handler is None:
        log.warning("press of %s: no feature handles it", press.action_id)
        return
    handler(runtime, press, now)
