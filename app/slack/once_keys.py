"""How a once-only post's key rides in Slack's message metadata, and how a read-back recognises it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from app.chat import Key

log = logging.getLogger(__name__)


class Page(Protocol):
    """One page of conversations.history (or .replies): read with ``get`` like Slack's response."""

    def get(self, key: str, default: Any = None) -> Any:
        """The answer's ``key``."""


PAGE = 200  # messages per history page
MAX_PAGES = 10  # read back at most this many messages (2,000) since the attempt began


def metadata(key: Key) -> dict[str, Any]:
    """The chat.postMessage ``metadata`` argument carrying ``key``."""
    return {"event_type": key.event_type, "event_payload": {"key": key.key}}


def matches(key: Key, message: Any) -> bool:
    """True when ``message`` (as conversations.history returns it) carries ``key``."""
    if not isinstance(message, dict):
        return False
    data = message.get("metadata") or {}
    payload = data.get("event_payload") or {}
    return data.get("event_type") == key.event_type and payload.get("key") == key.key


def find(
    read: Callable[[dict[str, Any]], Page],
    conversation: str,
    key: Key,
    oldest: datetime | None,
) -> str | None:
    """The ts of the message carrying ``key``, reading pages newest first with ``read(arguments)``."""
    cursor = None
    for _ in range(MAX_PAGES):
        args: dict[str, Any] = {"channel": conversation, "limit": PAGE, "include_all_metadata": True}
        if oldest is not None:
            args["oldest"] = f"{oldest.timestamp():.6f}"
        if cursor:
            args["cursor"] = cursor
        page = read(args)
        found = next((m for m in page.get("messages") or [] if matches(key, m)), None)
        if found is not None:
            return str(found["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    log.warning("read back %d messages of %s without finding %s", PAGE * MAX_PAGES, conversation, key.key)
    return None
