"""The sandbox's read side of messages: message metadata, conversations.history and conversations.replies.

As in Slack: each conversation type needs its own history scope, results are paged with an opaque cursor,
``oldest``/``latest`` bound the ts (exclusive unless ``inclusive``) and metadata is returned only when
``include_all_metadata`` is asked for.
"""

from __future__ import annotations

import base64
from typing import Any

from app.sandbox.slack_state import (
    ApiError,
    Channel,
    Params,
    SlackWorkspace,
    param_flag,
    param_json,
    param_str,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 999


def post_metadata(p: Params) -> dict[str, Any] | None:
    """The ``metadata`` of a chat.postMessage, validated as Slack does; None when absent."""
    if p.get("metadata") in (None, ""):
        return None
    try:
        metadata = param_json(p, "metadata")
    except ApiError:
        raise ApiError("invalid_metadata_format") from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str):
        raise ApiError("invalid_metadata_format")
    if not metadata["event_type"] or not isinstance(metadata.get("event_payload", {}), dict):
        raise ApiError("invalid_metadata_schema")
    return {"event_type": metadata["event_type"], "event_payload": dict(metadata.get("event_payload") or {})}


def _readable(ws: SlackWorkspace, p: Params) -> Channel:
    """The conversation to read: an id the bot can see, with the scope its type needs."""
    channel = ws.find_channel(param_str(p, "channel"))
    if channel is None or channel.id != param_str(p, "channel"):  # history takes ids, never names
        raise ApiError("channel_not_found")
    if channel.is_private and not channel.is_im and not channel.bot_is_member:
        raise ApiError("channel_not_found")
    scope = "im:history" if channel.is_im else "groups:history" if channel.is_private else "channels:history"
    if scope not in ws.scopes:
        raise ApiError("missing_scope", needed=scope, provided=",".join(ws.scopes))
    if not channel.is_im and not channel.bot_is_member:
        raise ApiError("not_in_channel")
    return channel


def _message_json(ws: SlackWorkspace, record: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "message",
        "user": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "app_id": ws.app_id,
        "team": ws.team_id,
        "text": record.get("text") or "",
        "ts": record["ts"],
    }
    if record.get("blocks"):
        message["blocks"] = record["blocks"]
    if record.get("thread_ts"):
        message["thread_ts"] = record["thread_ts"]
    if with_metadata and record.get("metadata"):
        message["metadata"] = record["metadata"]
    return message


def _in_range(ts: str, p: Params) -> bool:
    oldest, latest, inclusive = param_str(p, "oldest"), param_str(p, "latest"), param_flag(p, "inclusive")
    value = float(ts)
    if oldest and (value < float(oldest) or (value == float(oldest) and not inclusive)):
        return False
    return not (latest and (value > float(latest) or (value == float(latest) and not inclusive)))


def _page(items: list[dict[str, Any]], p: Params) -> dict[str, Any]:
    """One page of ``items`` from the request's cursor, with Slack's paging fields."""
    raw_limit = param_str(p, "limit")
    limit = min(max(int(raw_limit), 1), MAX_LIMIT) if raw_limit.strip().isdigit() else DEFAULT_LIMIT
    cursor = param_str(p, "cursor")
    start = 0
    if cursor:
        try:
            start = int(base64.b64decode(cursor.encode(), validate=True).decode().removeprefix("offset:"))
        except ValueError:
            raise ApiError("invalid_cursor") from None
    page = items[start : start + limit]
    more = start + limit < len(items)
    next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
    return {"messages": page, "has_more": more, "response_metadata": {"next_cursor": next_cursor}}


def conversations_history(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """conversations.history: the channel's top-level messages, newest first."""
    channel = _readable(ws, p)
    with_metadata = param_flag(p, "include_all_metadata")
    top = [
        _message_json(ws, m, with_metadata)
        for m in reversed(ws.posted_records())
        if m["channel"] == channel.id and m.get("thread_ts") in (None, m["ts"]) and _in_range(m["ts"], p)
    ]
    return _page(top, p)


def conversations_replies(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """conversations.replies: a thread's parent, then its replies oldest first."""
    channel = _readable(ws, p)
    ts = param_str(p, "ts")
    known, _ = ws.thread_of(channel.id, ts)
    if not ts or not known:
        raise ApiError("thread_not_found")
    with_metadata = param_flag(p, "include_all_metadata")
    parent = ws.find_message(channel.id, ts)
    head = _message_json(ws, parent, with_metadata) if parent else {"type": "message", "ts": ts}
    head["thread_ts"] = ts
    replies = [
        _message_json(ws, m, with_metadata)
        for m in ws.posted_records()
        if m["channel"] == channel.id and m.get("thread_ts") == ts and m["ts"] != ts and _in_range(m["ts"], p)
    ]
    return _page([head, *replies], p)
