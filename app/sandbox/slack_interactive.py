"""Button presses as Slack sends them: a ``block_actions`` payload for an element of a posted message.

The press must name an element that really is in the message (Slack cannot send a press of a button
nobody sees), and carries what Slack's does: the user, the channel, the container, the whole message,
``actions[]`` with the element's block id, value and type, the state of the message's inputs (a select's
current option), a ``response_url`` and a ``trigger_id``.
"""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any


def _elements(blocks: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Every (block_id, element) of the message's actions blocks and section accessories."""
    found: list[tuple[str, dict[str, Any]]] = []
    for block in blocks or []:
        block_id = str(block.get("block_id") or "")
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id"):
                found.append((block_id, element))
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("action_id"):
            found.append((block_id, accessory))
    return found


def _state(blocks: list[dict[str, Any]], chosen: dict[str, str]) -> dict[str, Any]:
    """``state.values``: each select's current option (``chosen`` overrides by action_id)."""
    values: dict[str, dict[str, Any]] = {}
    for block_id, element in _elements(blocks):
        if element.get("type") != "static_select":
            continue
        options = element.get("options") or []
        wanted = chosen.get(element["action_id"])
        option = next((o for o in options if o.get("value") == wanted), None) if wanted else None
        option = option or element.get("initial_option")
        entry: dict[str, Any] = {"type": "static_select", "selected_option": option}
        values.setdefault(block_id, {})[element["action_id"]] = entry
    return {"values": values}


def block_actions(
    message: dict[str, Any],
    action_id: str,
    *,
    user: str,
    user_name: str,
    team_id: str,
    app_id: str,
    response_url_base: str,
    chosen: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The payload of a press of ``action_id`` in ``message``; LookupError when it has no such element."""
    blocks = message.get("blocks") or []
    match = next(((b, e) for b, e in _elements(blocks) if e["action_id"] == action_id), None)
    if match is None:
        raise LookupError(f"the message {message.get('ts')} has no element {action_id!r}")
    block_id, element = match
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": element.get("type"),
        "action_ts": f"{time.time():.6f}",
    }
    if element.get("type") == "button":
        action["value"] = element.get("value", "")
        action["text"] = element.get("text")
    if element.get("type") == "static_select":
        action["selected_option"] = _state(blocks, chosen or {})["values"][block_id][action_id][
            "selected_option"
        ]
    channel = str(message.get("channel") or "")
    container = {
        "type": "message",
        "message_ts": message.get("ts"),
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    shown = {k: copy.deepcopy(v) for k, v in message.items() if k in ("ts", "text", "blocks", "thread_ts")}
    shown.update(type="message", user=message.get("user"), bot_id=message.get("bot_id"))
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": app_id,
        "token": "sandbox-verification-token",
        "container": container,
        "trigger_id": f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}",
        "team": {"id": team_id, "domain": "sandbox"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "sandbox-channel"},
        "message": shown,
        "state": _state(blocks, chosen or {}),
        "response_url": f"{response_url_base}/actions/{team_id}/{secrets.randbelow(10**12)}/"
        f"{secrets.token_hex(12)}",
        "actions": [action],
    }
