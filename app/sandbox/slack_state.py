"""State of the sandbox Slack workspace: users, channels, usergroups, and what the bot posted."""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

Params = Mapping[str, Any]

DEFAULT_SCOPES: tuple[str, ...] = (
    "commands",
    "app_mentions:read",
    "chat:write",
    "usergroups:read",
    "usergroups:write",
    "users:read",
    "users:read.email",
    "channels:read",
    "groups:read",
    "im:write",
    "channels:history",
    "groups:history",
    "im:history",
)


class ApiError(Exception):
    """A Slack error answer: HTTP 200 with {"ok": false, "error": ...} plus optional extra fields."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class User:
    """A workspace member as the sandbox stores it."""

    id: str
    name: str
    email: str | None = None
    real_name: str | None = None
    tz: str = "Europe/Amsterdam"
    deleted: bool = False
    is_bot: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    locale: str = "en-US"  # users.info returns it only when asked with include_locale


@dataclass
class Channel:
    """A conversation: public or private channel, or the bot's DM with one user (is_im)."""

    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    bot_is_member: bool = True
    is_im: bool = False
    user: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class Usergroup:
    """A user group (Slack calls it a subteam); date_delete is 0 while enabled."""

    id: str
    handle: str
    name: str
    users: list[str]
    date_create: int
    date_update: int
    date_delete: int = 0


@dataclass
class Settings:
    """Workspace settings that change how usergroups.* answer."""

    usergroups_admin_only: bool = False
    paid_plan: bool = True


def param_str(params: Params, key: str) -> str:
    """A parameter as a string ("" when absent): form values are strings, JSON values may not be."""
    value = params.get(key)
    return "" if value is None else str(value)


def param_flag(params: Params, key: str) -> bool:
    """A boolean parameter: slack_sdk sends True/False as "1"/"0" in forms and as booleans in JSON."""
    value = params.get(key)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def param_json(params: Params, key: str) -> Any:
    """A structured parameter (blocks, view) that may arrive as a JSON string or as an object."""
    value = params.get(key)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ApiError("invalid_arguments") from exc
    return value


def param_ids(params: Params, key: str) -> list[str]:
    """A comma-separated id list (or a JSON list), stripped, without empties or duplicates."""
    value = params.get(key)
    items = value if isinstance(value, list) else param_str(params, key).split(",")
    return list(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))


class SlackWorkspace:
    """The sandbox workspace: seeded state plus the records of everything the bot did."""

    def __init__(
        self,
        *,
        bot_token: str,
        app_token: str,
        scopes: Iterable[str],
        team_id: str,
        team: str,
        bot_user_id: str,
        app_id: str,
        bot_name: str = "oncall-bot",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.team = team
        self.domain = re.sub(r"[^a-z0-9-]", "", team.lower()) or "sandbox"
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + app_id.removeprefix("A")
        self.app_id = app_id
        self.bot_name = bot_name
        self.settings = Settings()
        # One re-entrant lock for all state: HTTP handler threads and the test thread share it.
        self._lock = threading.RLock()
        self._scopes: tuple[str, ...] = ()
        self._users: dict[str, User] = {}
        self._channels: dict[str, Channel] = {}
        self._groups: dict[str, Usergroup] = {}
        self._messages: list[dict[str, Any]] = []
        self._ephemerals: list[dict[str, Any]] = []
        self._views: list[dict[str, Any]] = []
        self._view_ids: dict[str, str] = {}
        self._seen: dict[tuple[str, str], str | None] = {}
        self._last_ts_us = 0
        self.set_scopes(scopes)
        self.add_user(bot_user_id, name=bot_name, is_bot=True, real_name=bot_name)

    # ---- seeding -------------------------------------------------------------------------------

    def set_scopes(self, scopes: Iterable[str]) -> None:
        """Set the scopes granted to the bot token."""
        with self._lock:
            self._scopes = tuple(dict.fromkeys(scopes))

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes granted to the bot token, in order."""
        return self._scopes

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        email: str | None = None,
        real_name: str | None = None,
        tz: str = "Europe/Amsterdam",
        deleted: bool = False,
        is_bot: bool = False,
        is_restricted: bool = False,
        locale: str = "en-US",
    ) -> None:
        """Add (or replace) a workspace member."""
        ZoneInfo(tz)  # fail at seeding time, not inside a request handler
        user = User(user_id, name, email, real_name, tz, deleted, is_bot, is_restricted, locale=locale)
        with self._lock:
            self._users[user_id] = user

    def set_user(self, user_id: str, **changes: Any) -> None:
        """Change fields of an existing user, e.g. deleted=True or tz="Asia/Tokyo"."""
        allowed = {f.name for f in fields(User)} - {"id"}
        unknown = set(changes) - allowed
        if unknown:
            raise TypeError(f"unknown user fields: {sorted(unknown)}")
        if "tz" in changes:
            ZoneInfo(changes["tz"])
        with self._lock:
            user = self._users[user_id]
            for key, value in changes.items():
                setattr(user, key, value)

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        is_archived: bool = False,
        bot_is_member: bool = True,
    ) -> None:
        """Add (or replace) a channel."""
        with self._lock:
            self._channels[channel_id] = Channel(channel_id, name, is_private, is_archived, bot_is_member)

    def add_usergroup(
        self,
        usergroup_id: str,
        *,
        handle: str,
        name: str | None = None,
        users: Iterable[str] = (),
        enabled: bool = True,
    ) -> None:
        """Add (or replace) a user group."""
        now = int(time.time())
        group = Usergroup(usergroup_id, handle, name or handle, list(dict.fromkeys(users)), now, now)
        group.date_delete = 0 if enabled else now
        with self._lock:
            self._groups[usergroup_id] = group

    def usergroup_members(self, id_or_handle: str) -> list[str]:
        """The current members of a group, by id or handle (KeyError when unknown)."""
        with self._lock:
            return list(self.find_group(id_or_handle.lstrip("@")).users)

    # ---- what the bot did -----------------------------------------------------------------------

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages the bot posted; channel may be a C/G/D id or a user id (that user's DM)."""
        return self._select(self._messages, channel)

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages the bot posted."""
        return self._select(self._ephemerals, channel)

    def views(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """views.publish history: {"user_id", "view"}."""
        with self._lock:
            return [copy.deepcopy(v) for v in self._views if user_id is None or v["user_id"] == user_id]

    def see_message(self, channel: str, ts: str, thread_ts: str | None = None) -> None:
        """Remember a message a user posted (from a pushed event) so chat.getPermalink can find it."""
        with self._lock:
            self._seen[(channel, ts)] = thread_ts

    def _select(self, records: list[dict[str, Any]], channel: str | None) -> list[dict[str, Any]]:
        with self._lock:
            wanted = None if channel is None else self.dm_id(channel) if channel in self._users else channel
            return [copy.deepcopy(r) for r in records if wanted is None or r["channel"] == wanted]

    # ---- lookups used by the API methods (call with the lock held) ------------------------------

    def find_user(self, user_id: str) -> User | None:
        """A user by id, or None."""
        return self._users.get(user_id)

    def find_user_by_email(self, email: str) -> User | None:
        """A user by email, case-insensitively, or None."""
        wanted = email.strip().lower()
        return next((u for u in self._users.values() if u.email and u.email.lower() == wanted), None)

    def find_group(self, id_or_handle: str) -> Usergroup:
        """A group by id or handle; KeyError when unknown."""
        group = self._groups.get(id_or_handle)
        group = group or next((g for g in self._groups.values() if g.handle == id_or_handle), None)
        if group is None:
            raise KeyError(id_or_handle)
        return group

    def groups(self) -> list[Usergroup]:
        """All groups in creation order."""
        return list(self._groups.values())

    def store_group(self, group: Usergroup) -> None:
        """Insert a group created through the API."""
        self._groups[group.id] = group

    def find_channel(self, ref: str) -> Channel | None:
        """A channel by id or by name (with or without '#'), as chat.postMessage accepts both."""
        channel = self._channels.get(ref)
        if channel is None and ref:
            name = ref.removeprefix("#")
            channel = next((c for c in self._channels.values() if c.name == name and not c.is_im), None)
        return channel

    def dm_id(self, user_id: str) -> str:
        """The id of the bot's DM with a user."""
        return "D" + user_id[1:]

    def open_dm(self, user_id: str) -> Channel:
        """The bot's DM channel with a user, created on first use."""
        channel_id = self.dm_id(user_id)
        if channel_id not in self._channels:
            dm = Channel(channel_id, user_id, is_private=True, is_im=True, user=user_id)
            self._channels[channel_id] = dm
        return self._channels[channel_id]

    def next_ts(self) -> str:
        """A unique, increasing message timestamp like "1732723200.000100"."""
        micros = max(time.time_ns() // 1000, self._last_ts_us + 1)
        self._last_ts_us = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def add_message(self, record: dict[str, Any]) -> None:
        """Record a message the bot posted."""
        self._messages.append(record)

    def add_ephemeral(self, record: dict[str, Any]) -> None:
        """Record an ephemeral message the bot posted."""
        self._ephemerals.append(record)

    def posted_records(self) -> list[dict[str, Any]]:
        """The live records of the bot's messages, oldest first (for the read methods)."""
        return self._messages

    def find_message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        """A message the bot posted (the live record, for chat.update), or None."""
        return next((m for m in self._messages if m["channel"] == channel_id and m["ts"] == ts), None)

    def thread_of(self, channel_id: str, ts: str) -> tuple[bool, str | None]:
        """Whether a message is known (posted by the bot or seen in an event) and its thread_ts."""
        message = self.find_message(channel_id, ts)
        if message is not None:
            return True, message.get("thread_ts")
        if (channel_id, ts) in self._seen:
            return True, self._seen[(channel_id, ts)]
        return False, None

    def publish_view(self, user_id: str, view: dict[str, Any]) -> str:
        """Record a published Home tab and return its stable view id."""
        view_id = self._view_ids.setdefault(user_id, f"V{len(self._view_ids) + 1:08d}")
        self._views.append({"user_id": user_id, "view": copy.deepcopy(view)})
        return view_id

    # ---- JSON shapes ----------------------------------------------------------------------------

    def user_json(self, user: User, *, include_locale: bool = False) -> dict[str, Any]:
        """A user as users.info returns it (``locale`` only when asked for, as Slack does)."""
        now = datetime.now(ZoneInfo(user.tz))
        offset = now.utcoffset()
        offset_seconds = int(offset.total_seconds()) if offset else 0
        real_name = user.real_name or user.name
        profile: dict[str, Any] = {
            "real_name": real_name,
            "display_name": user.name,
            "real_name_normalized": real_name,
            "display_name_normalized": user.name,
        }
        if user.email:
            profile["email"] = user.email
        shown: dict[str, Any] = {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "real_name": real_name,
            "deleted": user.deleted,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": user.is_restricted,
            "is_ultra_restricted": user.is_ultra_restricted,
            "tz": user.tz,
            "tz_label": now.tzname(),
            "tz_offset": offset_seconds,
            "profile": profile,
        }
        if include_locale:
            shown["locale"] = user.locale
        return shown

    def channel_json(self, channel: Channel) -> dict[str, Any]:
        """A conversation as conversations.info returns it."""
        if channel.is_im:
            return {
                "id": channel.id,
                "is_im": True,
                "user": channel.user,
                "created": channel.created,
                "is_org_shared": False,
                "is_archived": False,
            }
        return {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "is_channel": not channel.is_private,
            "is_group": channel.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "is_archived": channel.is_archived,
            "is_general": False,
            "is_shared": False,
            "is_org_shared": False,
            "is_member": channel.bot_is_member,
            "created": channel.created,
            "context_team_id": self.team_id,
        }

    def group_json(self, group: Usergroup, *, include_users: bool) -> dict[str, Any]:
        """A user group as usergroups.* return it."""
        data: dict[str, Any] = {
            "id": group.id,
            "team_id": self.team_id,
            "is_usergroup": True,
            "is_subteam": True,
            "name": group.name,
            "description": "",
            "handle": group.handle,
            "is_external": False,
            "date_create": group.date_create,
            "date_update": group.date_update,
            "date_delete": group.date_delete,
            "auto_type": None,
            "created_by": self.bot_user_id,
            "updated_by": self.bot_user_id,
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
            "user_count": len(group.users),
            "channel_count": 0,
        }
        if include_users:
            data["users"] = list(group.users)
        return data
