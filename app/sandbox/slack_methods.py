"""The sandbox's Web API methods: each reads params, changes the workspace, returns Slack's JSON."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from app.sandbox.block_kit import MAX_TEXT, MAX_VIEW_BYTES, block_errors
from app.sandbox.slack_history import conversations_history, conversations_replies, post_metadata
from app.sandbox.slack_state import (
    ApiError,
    Channel,
    Params,
    SlackWorkspace,
    Usergroup,
    param_flag,
    param_ids,
    param_json,
    param_str,
)

Handler = Callable[[SlackWorkspace, Params], dict[str, Any]]
TokenKind = Literal["bot", "app", "any"]


@dataclass(frozen=True)
class MethodSpec:
    """How a method is authorised (token kind, bot scope) and which function answers it."""

    handler: Handler
    scope: str | None = None
    token: TokenKind = "bot"


def auth_test(ws: SlackWorkspace, _: Params) -> dict[str, Any]:
    """auth.test: who the token belongs to."""
    return {
        "url": f"https://{ws.domain}.slack.com/",
        "team": ws.team,
        "user": ws.bot_name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def users_lookup_by_email(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """users.lookupByEmail (case-insensitive)."""
    user = ws.find_user_by_email(param_str(p, "email"))
    if user is None:
        raise ApiError("users_not_found")
    return {"user": ws.user_json(user)}


def users_info(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """users.info."""
    user = ws.find_user(param_str(p, "user"))
    if user is None:
        raise ApiError("user_not_found")
    return {"user": ws.user_json(user, include_locale=param_flag(p, "include_locale"))}


def conversations_info(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """conversations.info; a private channel needs groups:read as well."""
    channel = ws.find_channel(param_str(p, "channel"))
    if channel is None or (channel.is_private and not channel.is_im and not channel.bot_is_member):
        raise ApiError("channel_not_found")
    if channel.is_private and not channel.is_im and "groups:read" not in ws.scopes:
        raise ApiError("missing_scope", needed="groups:read", provided=",".join(ws.scopes))
    return {"channel": ws.channel_json(channel)}


def conversations_join(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """conversations.join: only public, unarchived channels."""
    channel = ws.find_channel(param_str(p, "channel"))
    if channel is None:
        raise ApiError("channel_not_found")
    if channel.is_private:
        raise ApiError("method_not_supported_for_channel_type")
    if channel.is_archived:
        raise ApiError("is_archived")
    channel.bot_is_member = True
    return {"channel": ws.channel_json(channel)}


def conversations_open(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """conversations.open for a single user: the bot's DM with them."""
    user_ids = param_ids(p, "users")
    if len(user_ids) != 1:
        raise ApiError("not_enough_users" if not user_ids else "too_many_users")
    user = ws.find_user(user_ids[0])
    if user is None:
        raise ApiError("user_not_found")
    return {"channel": {"id": ws.open_dm(user.id).id}}


def _writable_channel(ws: SlackWorkspace, ref: str) -> Channel:
    """The channel a post goes to: a user id means that user's DM; membership and archive checked."""
    if ref[:1] in ("U", "W"):
        user = ws.find_user(ref)
        if user is None or user.deleted:
            raise ApiError("channel_not_found")
        return ws.open_dm(user.id)
    channel = ws.find_channel(ref)
    # Private channels the bot is not in are invisible to it, as in real Slack.
    if channel is None or (channel.is_private and not channel.bot_is_member):
        raise ApiError("channel_not_found")
    if channel.is_archived:
        raise ApiError("is_archived")
    if not channel.bot_is_member:
        raise ApiError("not_in_channel")
    return channel


def _content(p: Params) -> tuple[str, Any]:
    """Text and blocks of a post; Slack refuses a post with neither."""
    text, blocks, attachments = param_str(p, "text"), param_json(p, "blocks"), param_json(p, "attachments")
    if not text and not blocks and not attachments:
        raise ApiError("no_text")
    if len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    refused = block_errors(blocks)
    if refused:
        errors = [message.removeprefix("[ERROR] ") for message in refused]
        raise ApiError("invalid_blocks", errors=errors, response_metadata={"messages": refused})
    return text, blocks


def _record(p: Params, **fields: Any) -> dict[str, Any]:
    """A message record: the caller's extra params (username, icon_emoji, ...) plus the normalised fields."""
    skip = ("token", "channel", "blocks", "attachments", "metadata")
    extras = {k: v for k, v in p.items() if k not in skip}
    if "attachments" in p:
        extras["attachments"] = param_json(p, "attachments")
    return {**extras, **fields}


def chat_post_message(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """chat.postMessage to a channel, or to a user id (their DM)."""
    channel = _writable_channel(ws, param_str(p, "channel"))
    text, blocks = _content(p)
    metadata = post_metadata(p)
    thread_ts = param_str(p, "thread_ts") or None
    ts = ws.next_ts()
    ws.add_message(
        _record(
            p,
            channel=channel.id,
            ts=ts,
            thread_ts=thread_ts,
            text=text,
            blocks=blocks,
            user=channel.user or ws.bot_user_id,
            bot_id=ws.bot_id,
            metadata=metadata,
        )
    )
    message: dict[str, Any] = {
        "type": "message",
        "user": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "app_id": ws.app_id,
        "team": ws.team_id,
        "text": text,
        "ts": ts,
    }
    if blocks:
        message["blocks"] = blocks
    if thread_ts:
        message["thread_ts"] = thread_ts
    if metadata:
        message["metadata"] = metadata
    return {"channel": channel.id, "ts": ts, "message": message}


def chat_post_ephemeral(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """chat.postEphemeral: visible to one user in a channel."""
    channel = _writable_channel(ws, param_str(p, "channel"))
    user = ws.find_user(param_str(p, "user"))
    if user is None or user.deleted:
        raise ApiError("user_not_in_channel")
    text, blocks = _content(p)
    ts = ws.next_ts()
    ws.add_ephemeral(
        _record(
            p,
            channel=channel.id,
            user=user.id,
            ts=ts,
            thread_ts=param_str(p, "thread_ts") or None,
            text=text,
            blocks=blocks,
        )
    )
    return {"message_ts": ts}


def chat_update(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """chat.update of a message the bot posted."""
    channel = _writable_channel(ws, param_str(p, "channel"))
    ts = param_str(p, "ts")
    message = ws.find_message(channel.id, ts)
    if message is None:
        raise ApiError("message_not_found")
    text, blocks = _content(p)
    message.update(text=text, blocks=blocks, edited={"user": ws.bot_user_id, "ts": ws.next_ts()})
    return {
        "channel": channel.id,
        "ts": ts,
        "text": text,
        "message": {
            "type": "message",
            "user": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "text": text,
            "blocks": blocks or [],
        },
    }


def chat_get_permalink(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """chat.getPermalink for a message the bot posted or one seen in a pushed event."""
    ref = param_str(p, "channel")
    channel = ws.find_channel(ref)
    if channel is None:
        raise ApiError("channel_not_found")
    ts = param_str(p, "message_ts")
    known, thread_ts = ws.thread_of(channel.id, ts)
    if not known:
        raise ApiError("message_not_found")
    link = f"https://{ws.domain}.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


def views_publish(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """views.publish of a Home tab."""
    user = ws.find_user(param_str(p, "user_id"))
    if user is None:
        raise ApiError("user_not_found")
    view = param_json(p, "view")
    if not isinstance(view, dict) or view.get("type") != "home":
        raise ApiError("invalid_arguments")
    if len(json.dumps(view).encode()) > MAX_VIEW_BYTES:
        raise ApiError("view_too_large")
    refused = block_errors(view.get("blocks"), surface="view")
    if refused:  # views.* say invalid_arguments (not invalid_blocks), with the same messages
        raise ApiError("invalid_arguments", response_metadata={"messages": refused})
    view_id = ws.publish_view(user.id, view)
    digest = hashlib.sha1(repr(sorted(view.items())).encode(), usedforsecurity=False).hexdigest()[:16]
    published = {
        "id": view_id,
        "team_id": ws.team_id,
        "private_metadata": "",
        "callback_id": "",
        "state": {"values": {}},
        "app_id": ws.app_id,
        "bot_id": ws.bot_id,
        **view,
        "hash": digest,
    }
    return {"view": published}


def _usergroups(ws: SlackWorkspace, *, write: bool) -> None:
    """Workspace-level gates every usergroups.* call passes first."""
    if not ws.settings.paid_plan:
        raise ApiError("plan_upgrade_required")
    if write and ws.settings.usergroups_admin_only:
        raise ApiError("permission_denied")


def _group(ws: SlackWorkspace, p: Params) -> Usergroup:
    """The group named by the `usergroup` param."""
    try:
        return ws.find_group(param_str(p, "usergroup"))
    except KeyError:
        raise ApiError("subteam_not_found") from None


def usergroups_list(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """usergroups.list (include_users, include_disabled)."""
    _usergroups(ws, write=False)
    include_users, include_disabled = param_flag(p, "include_users"), param_flag(p, "include_disabled")
    groups = [g for g in ws.groups() if include_disabled or not g.date_delete]
    return {"usergroups": [ws.group_json(g, include_users=include_users) for g in groups]}


def usergroups_users_list(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """usergroups.users.list."""
    _usergroups(ws, write=False)
    return {"users": list(_group(ws, p).users)}


def usergroups_users_update(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """usergroups.users.update: replaces the whole list; guests, bots and deleted users are refused."""
    _usergroups(ws, write=True)
    group = _group(ws, p)
    user_ids = param_ids(p, "users")
    if not user_ids:
        raise ApiError("no_users_provided")
    for user_id in user_ids:
        user = ws.find_user(user_id)
        if user is None or user.deleted or user.is_bot or user.is_restricted:
            raise ApiError("invalid_users")
    group.users = user_ids
    group.date_update = int(float(ws.next_ts()))
    return {"usergroup": ws.group_json(group, include_users=True)}


def _set_enabled(ws: SlackWorkspace, p: Params, *, enabled: bool) -> dict[str, Any]:
    _usergroups(ws, write=True)
    group = _group(ws, p)
    now = int(float(ws.next_ts()))
    group.date_delete, group.date_update = (0 if enabled else now), now
    return {"usergroup": ws.group_json(group, include_users=False)}


def usergroups_enable(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """usergroups.enable."""
    return _set_enabled(ws, p, enabled=True)


def usergroups_disable(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """usergroups.disable: the only way to empty a group's mentions."""
    return _set_enabled(ws, p, enabled=False)


def usergroups_create(ws: SlackWorkspace, p: Params) -> dict[str, Any]:
    """usergroups.create with a unique name and handle."""
    _usergroups(ws, write=True)
    name = param_str(p, "name")
    handle = param_str(p, "handle") or name.lower().replace(" ", "-")
    if not name:
        raise ApiError("invalid_arguments")
    if any(g.name == name for g in ws.groups()):
        raise ApiError("name_already_exists")
    if any(g.handle == handle for g in ws.groups()):
        raise ApiError("handle_already_exists")
    now = int(float(ws.next_ts()))
    group = Usergroup(f"S{len(ws.groups()) + 1:08d}", handle, name, [], now, now)
    ws.store_group(group)
    return {"usergroup": ws.group_json(group, include_users=True)}


METHODS: dict[str, MethodSpec] = {
    "auth.test": MethodSpec(auth_test, token="any"),
    "users.lookupByEmail": MethodSpec(users_lookup_by_email, "users:read.email"),
    "users.info": MethodSpec(users_info, "users:read"),
    "conversations.info": MethodSpec(conversations_info, "channels:read"),
    "conversations.join": MethodSpec(conversations_join, "channels:join"),
    "conversations.open": MethodSpec(conversations_open, "im:write"),
    # The history scope depends on the conversation's type: the handlers check it.
    "conversations.history": MethodSpec(conversations_history),
    "conversations.replies": MethodSpec(conversations_replies),
    "chat.postMessage": MethodSpec(chat_post_message, "chat:write"),
    "chat.postEphemeral": MethodSpec(chat_post_ephemeral, "chat:write"),
    "chat.update": MethodSpec(chat_update, "chat:write"),
    "chat.getPermalink": MethodSpec(chat_get_permalink),
    "views.publish": MethodSpec(views_publish),
    "usergroups.list": MethodSpec(usergroups_list, "usergroups:read"),
    "usergroups.users.list": MethodSpec(usergroups_users_list, "usergroups:read"),
    "usergroups.users.update": MethodSpec(usergroups_users_update, "usergroups:write"),
    "usergroups.enable": MethodSpec(usergroups_enable, "usergroups:write"),
    "usergroups.disable": MethodSpec(usergroups_disable, "usergroups:write"),
    "usergroups.create": MethodSpec(usergroups_create, "usergroups:write"),
}
