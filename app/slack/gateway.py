"""The Slack gateway: every Web API call of the bot passes through here, and through nothing else.

One place that
- builds the WebClients (redacting every argument; ``gateway_client.py``) and knows their retries,
- checks Block Kit's limits before a message or a view is sent (what Slack would refuse is refused here,
  in words),
- maps every failure once to ``app.chat``'s narrow exceptions, each classed as refused (Slack said no, or
  the request never left), throttled (429 after the Retry-After waits) or outcome unknown (sent, but no
  usable answer came back).

Callers get plain values (a ts, a URL, Slack's user or group object) or one of those exceptions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web import SlackResponse

from app.chat import (
    TOO_BIG,
    Key,
    PostResult,
    ReadBackFailed,
    Refused,
    Sent,
    SlackCallFailed,
    SlackRefused,
    Unknown,
)
from app.config import Settings
from app.metrics import Metrics
from app.model.messages import Message
from app.slack import once_keys
from app.slack.errors import SLACK_FAILURES, call_failed, promised
from app.slack.gateway_client import QUICK, TIMEOUT, running_retries, single_shot, web_client
from app.slack.limits import Surface
from app.slack.limits_check import BlockKitLimitError, validate_blocks, validate_message
from app.slack.render import plain_text, render
from app.stopping import Stopping

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot token belongs to (auth.test): the bot's user id, its name, the workspace, its scopes."""

    user_id: str
    user: str
    team: str
    scopes: str | None  # the x-oauth-scopes header: "chat:write,users:read,..."


class SlackGateway:
    """The bot's one door to Slack's Web API (see the module docstring)."""

    def __init__(
        self,
        client: WebClient,
        *,
        once_client: WebClient | None = None,
        quick_client: WebClient | None = None,
    ) -> None:
        self._client = client
        # The same client without the retries that could repeat a write Slack may already have done.
        self._once = once_client or client
        # One try within QUICK seconds, for a read a person is waiting on (may they page?).
        self._quick = quick_client or web_client(client.token or "", client.base_url, [], timeout=QUICK)

    @classmethod
    def running(
        cls, settings: Settings, metrics: Metrics | None = None, stopping: Stopping | None = None
    ) -> SlackGateway:
        """The running bot's gateway: waits out 429s (unless stopping), retries 5xx and connection errors."""
        handlers = running_retries(metrics, stopping or Stopping())
        return cls.on(settings, handlers, single_shot_handlers=single_shot(handlers))

    @classmethod
    def checking(cls, settings: Settings, timeout: float, logger: logging.Logger) -> SlackGateway:
        """`oncall-bot check`'s gateway: one try per call (one 429 waited out), a short timeout."""
        return cls.on(
            settings, [RateLimitErrorRetryHandler(max_retry_count=1)], timeout=timeout, logger=logger
        )

    @classmethod
    def on(
        cls,
        settings: Settings,
        handlers: list[RetryHandler],
        *,
        single_shot_handlers: list[RetryHandler] | None = None,
        timeout: float = TIMEOUT,
        logger: logging.Logger | None = None,
    ) -> SlackGateway:
        """A gateway on SLACK_API_URL with the bot token and exactly ``handlers`` as retries."""
        token, url = settings.slack_bot_token.get_secret_value(), settings.slack_api_url
        client = web_client(token, url, handlers, timeout=timeout, logger=logger)
        once = single_shot_handlers if single_shot_handlers is not None else handlers
        return cls(
            client,
            once_client=web_client(token, url, once, timeout=timeout, logger=logger),
            quick_client=web_client(token, url, [], timeout=min(timeout, QUICK), logger=logger),
        )

    @property
    def bolt_client(self) -> WebClient:
        """The client Bolt's own plumbing holds (its App needs one); listeners never use it."""
        return self._client

    def _call(self, method: str, invoke: Callable[[], SlackResponse]) -> SlackResponse:
        """Run one Web API call; every failure leaves as an ``app.chat`` exception."""
        try:
            return invoke()
        except SLACK_FAILURES as error:
            raise call_failed(method, error) from error

    # ---- the bot's identity and its Socket Mode connection ----------------------------------------

    def identity(self) -> BotIdentity:
        """auth.test: the bot token's user, workspace and granted scopes."""
        client = self._client
        response = self._call("auth.test", client.auth_test)
        user_id = promised(response, "auth.test", "user_id", str)
        scopes = response.headers.get("x-oauth-scopes") if response.headers else None
        return BotIdentity(user_id, str(response.get("user") or ""), str(response.get("team") or ""), scopes)

    def open_connection(self, app_token: str) -> str:
        """apps.connections.open with the app-level token: the websocket URL to connect to."""
        client = self._client
        response = self._call(
            "apps.connections.open", lambda: client.apps_connections_open(app_token=app_token)
        )
        return str(promised(response, "apps.connections.open", "url", str))

    # ---- messages and views -----------------------------------------------------------------------

    def post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> str:
        """chat.postMessage of ``message`` (rendered) to ``channel`` (or a user id: their DM); its ts."""
        text, blocks = _payload(message)
        _fits("chat.postMessage", text, blocks)
        client = self._client
        response = self._call(
            "chat.postMessage",
            lambda: client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, unfurl_links=False
            ),
        )
        return str(response.get("ts") or "")

    def try_update(self, channel: str, ts: str, message: Message) -> bool:
        """chat.update of the bot's message ``ts`` to ``message``; never raises (a failure is logged)."""
        text, blocks = _payload(message)
        client = self._client
        try:
            _fits("chat.update", text, blocks)
            self._call(
                "chat.update", lambda: client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            )
        except SlackCallFailed as failure:
            log.error("could not update %s/%s: %s", channel, ts, failure)
            return False
        return True

    def try_ephemeral(self, channel: str, user: str, *, text: str, thread_ts: str | None = None) -> bool:
        """chat.postEphemeral of a sentence only ``user`` sees; never raises: a failure is logged, False."""
        client = self._client
        try:
            self._call(
                "chat.postEphemeral",
                lambda: client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts),
            )
        except SlackCallFailed as failure:
            log.error("could not tell %s in %s: %s", user, channel, failure)
            return False
        return True

    def post_once(
        self, channel: str, key: Key, message: Message, *, thread_ts: str | None = None
    ) -> PostResult:
        """Post once (no blind retries: only a 429 is waited out) with ``key`` in the message metadata.

        Never raises: Sent, Refused (Slack said no, kept throttling, or nothing left) or Unknown (sent,
        no answer: resolve it with ``find_once``).
        """
        text, blocks = _payload(message)
        try:
            _fits("chat.postMessage", text, blocks)
            client = self._once
            response = self._call(
                "chat.postMessage",
                lambda: client.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=blocks,
                    thread_ts=thread_ts,
                    unfurl_links=False,
                    metadata=once_keys.metadata(key),
                ),
            )
        except SlackCallFailed as failure:
            return Unknown(str(failure)) if failure.kind == "unknown" else Refused(str(failure))
        return Sent(str(response.get("ts") or ""), str(response.get("channel") or channel))

    def fallback_text(self, message: Message) -> str:
        """The plain notification text ``message`` is posted with."""
        return str(render(message)["text"])

    def plain_text(self, message: Message) -> str:
        """``message`` as plain lines (its blocks flattened), for the CLI."""
        return plain_text(message)

    def find_once(
        self, channel: str, key: Key, *, oldest: datetime | None = None, thread_ts: str | None = None
    ) -> str | None:
        """The ts of the bot's message carrying ``key`` in ``channel`` (or in the thread), or None.

        Reads newest first from ``oldest`` on; raises ReadBackFailed when Slack cannot be read.
        """
        method = "conversations.replies" if thread_ts else "conversations.history"
        try:
            conversation = self._conversation(channel)
            return once_keys.find(lambda args: self._read(method, args, thread_ts), conversation, key, oldest)
        except SlackCallFailed as failure:
            raise ReadBackFailed(str(failure)) from failure
        except (KeyError, TypeError, AttributeError) as error:
            raise ReadBackFailed(f"{method}: Slack's answer lacked the messages: {error}") from error

    def _read(self, method: str, args: dict[str, Any], thread_ts: str | None) -> SlackResponse:
        """One page of the channel's history (or of the thread's replies)."""
        client = self._client
        if thread_ts is None:
            return self._call(method, lambda: client.conversations_history(**args))
        return self._call(method, lambda: client.conversations_replies(ts=thread_ts, **args))

    def _conversation(self, channel: str) -> str:
        """A channel id to read: a user id (a DM posted by user id) becomes the bot's DM with them."""
        if channel[:1] not in ("U", "W"):
            return channel
        client = self._client
        response = self._call("conversations.open", lambda: client.conversations_open(users=channel))
        return str(promised(response, "conversations.open", "channel")["id"])

    def permalink(self, channel: str, ts: str, *, quick: bool = False) -> str:
        """chat.getPermalink: the URL of message ``ts`` in ``channel``; ``quick``: one try within QUICK s."""
        client = self._quick if quick else self._client
        response = self._call(
            "chat.getPermalink", lambda: client.chat_getPermalink(channel=channel, message_ts=ts)
        )
        return str(promised(response, "chat.getPermalink", "permalink", str))

    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        """views.publish: ``view`` as the App Home of ``user_id``."""
        _fits("views.publish", None, view.get("blocks"), "home", view_only=True)
        client = self._client
        self._call("views.publish", lambda: client.views_publish(user_id=user_id, view=view))

    # ---- people, channels, user groups ------------------------------------------------------------

    def user(self, user_id: str, *, quick: bool = False) -> dict[str, Any]:
        """users.info: Slack's user object of ``user_id``; ``quick``: one try within QUICK seconds."""
        client = self._quick if quick else self._client
        # include_locale: the profile is cached with the user's language (private answers speak it).
        response = self._call("users.info", lambda: client.users_info(user=user_id, include_locale=True))
        return dict(promised(response, "users.info", "user"))

    def user_by_email(self, email: str) -> dict[str, Any]:
        """users.lookupByEmail: Slack's user object of whoever has ``email``."""
        client = self._client
        response = self._call("users.lookupByEmail", lambda: client.users_lookupByEmail(email=email))
        return dict(promised(response, "users.lookupByEmail", "user"))

    def channel(self, channel_id: str) -> dict[str, Any]:
        """conversations.info: Slack's channel object of ``channel_id``."""
        client = self._client
        response = self._call("conversations.info", lambda: client.conversations_info(channel=channel_id))
        return dict(promised(response, "conversations.info", "channel"))

    def usergroups(self) -> list[dict[str, Any]]:
        """usergroups.list: every user group of the workspace (disabled ones too), with its members."""
        client = self._client
        response = self._call(
            "usergroups.list", lambda: client.usergroups_list(include_users=True, include_disabled=True)
        )
        return list(promised(response, "usergroups.list", "usergroups", list))

    def update_usergroup(self, group_id: str, users: Sequence[str]) -> None:
        """usergroups.users.update: make ``users`` the members of the group (Slack refuses an empty list)."""
        client = self._client
        members = ",".join(users)
        self._call(
            "usergroups.users.update",
            lambda: client.usergroups_users_update(usergroup=group_id, users=members),
        )


def _payload(message: Message) -> tuple[str, list[dict[str, Any]] | None]:
    payload = render(message)
    return str(payload["text"]), payload.get("blocks")


def _fits(
    method: str, text: str | None, blocks: Any, surface: Surface = "message", *, view_only: bool = False
) -> None:
    """Refuse, before sending, what Slack would refuse for its size (invalid_blocks, msg_too_long)."""
    try:
        if view_only:
            validate_blocks(blocks, surface)
        else:
            validate_message(text, blocks, surface)
    except BlockKitLimitError as error:
        sentence = f"the message breaks Slack's Block Kit limits ({error})"
        raise SlackRefused(method, TOO_BIG, sentence) from error
