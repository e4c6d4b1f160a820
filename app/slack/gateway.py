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
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from app.chat import BotIdentity, Key, PostResult, ReadBackFailed, Refused, Sent, SlackCallFailed, Unknown
from app.slack import once_keys
from app.slack.errors import SLACK_FAILURES, call_failed, promised
from app.slack.gateway_client import QUICK, Clients, checking_clients, running_clients, web_client
from app.slack.limits_check import refuse_oversized
from app.stopping import Stopping

# `run` builds the gateway (auth.test, apps.connections.open) before the rest of the bot is imported:
# the metrics, the messages and their renderers are only named here, and loaded by whoever sends one.
if TYPE_CHECKING:
    from app.config import Settings
    from app.metrics import Metrics
    from app.model.messages import Message

AuthTestAnswer = SlackResponse  # auth.test's answer as slack_sdk gives it (Bolt's App is handed it as is)
log = logging.getLogger(__name__)


def payload(message: Message) -> tuple[str, list[dict[str, Any]] | None]:
    """``message`` rendered: its notification text and blocks (``app.slack.render``)."""
    from app.slack import render  # noqa: PLC0415 - loaded with the listeners, after the connection opens

    return render.payload(message)


def plain_text(message: Message) -> str:
    """``message`` as plain lines (``app.slack.render``)."""
    from app.slack import render  # noqa: PLC0415

    return render.plain_text(message)


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
        self._identity: SlackResponse | None = None  # the last auth.test answer (Bolt's App is given it)

    @classmethod
    def running(
        cls, settings: Settings, metrics: Metrics | None = None, stopping: Stopping | None = None
    ) -> SlackGateway:
        """The running bot's gateway: waits out 429s (unless stopping), retries 5xx and connection errors."""
        return cls.of(running_clients(settings, metrics, stopping or Stopping()))

    @classmethod
    def checking(cls, settings: Settings, timeout: float, logger: logging.Logger) -> SlackGateway:
        """`oncall-bot check`'s gateway: one try per call (one 429 waited out), a short timeout."""
        return cls.of(checking_clients(settings, timeout, logger))

    @classmethod
    def of(cls, clients: Clients) -> SlackGateway:
        """The gateway on ``clients`` (``gateway_client.py`` builds them)."""
        return cls(clients.main, once_client=clients.once, quick_client=clients.quick)

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

    def _answer(self, method: str, invoke: Callable[[], SlackResponse], key: str, kind: type = dict) -> Any:
        """The ``key`` the method promises in its answer (``errors.promised``: missing is bad_response)."""
        return promised(self._call(method, invoke), method, key, kind)

    # ---- the bot's identity and its Socket Mode connection ----------------------------------------

    def identity(self) -> BotIdentity:
        """auth.test: the bot token's user, workspace and granted scopes."""
        response = self._call("auth.test", self._client.auth_test)
        user_id = promised(response, "auth.test", "user_id", str)
        self._identity = response
        scopes = response.headers.get("x-oauth-scopes") if response.headers else None
        return BotIdentity(user_id, str(response.get("user") or ""), str(response.get("team") or ""), scopes)

    @property
    def verified_identity(self) -> SlackResponse | None:
        """The answer of the last auth.test ``identity()`` made (None: not asked yet)."""
        return self._identity

    def open_connection(self, app_token: str) -> str:
        """apps.connections.open with the app-level token: the websocket URL to connect to."""
        opened = lambda: self._client.apps_connections_open(app_token=app_token)  # noqa: E731
        return str(self._answer("apps.connections.open", opened, "url", str))

    # ---- messages and views -----------------------------------------------------------------------

    def _post_message(
        self, client: WebClient, channel: str, message: Message, thread_ts: str | None, **extra: Any
    ) -> SlackResponse:
        """chat.postMessage of ``message``, rendered and checked against Block Kit's limits first."""
        text, blocks = payload(message)
        refuse_oversized("chat.postMessage", text, blocks)
        return self._call(
            "chat.postMessage",
            lambda: client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, unfurl_links=False, **extra
            ),
        )

    def post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> str:
        """chat.postMessage of ``message`` (rendered) to ``channel`` (or a user id: their DM); its ts."""
        return str(self._post_message(self._client, channel, message, thread_ts).get("ts") or "")

    def _quietly(self, what: str, call: Callable[[], object]) -> bool:
        """Run a call whose failure only costs a courtesy (an edit, a private sentence): logged, False."""
        try:
            call()
        except SlackCallFailed as failure:
            log.error("could not %s: %s", what, failure)
            return False
        return True

    def try_update(self, channel: str, ts: str, message: Message) -> bool:
        """chat.update of the bot's message ``ts`` to ``message``; never raises (a failure is logged)."""
        text, blocks = payload(message)

        def update() -> None:
            refuse_oversized("chat.update", text, blocks)
            self._call(
                "chat.update",
                lambda: self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks),
            )

        return self._quietly(f"update {channel}/{ts}", update)

    def try_ephemeral(self, channel: str, user: str, *, text: str, thread_ts: str | None = None) -> bool:
        """chat.postEphemeral of a sentence only ``user`` sees; never raises: a failure is logged, False."""
        return self._quietly(
            f"tell {user} in {channel}",
            lambda: self._call(
                "chat.postEphemeral",
                lambda: self._client.chat_postEphemeral(
                    channel=channel, user=user, text=text, thread_ts=thread_ts
                ),
            ),
        )

    def post_once(
        self, channel: str, key: Key, message: Message, *, thread_ts: str | None = None
    ) -> PostResult:
        """Post once (no blind retries: only a 429 is waited out) with ``key`` in the message metadata.

        Never raises: Sent, Refused (Slack said no, kept throttling, or nothing left) or Unknown (sent,
        no answer: resolve it with ``find_once``).
        """
        try:
            response = self._post_message(
                self._once, channel, message, thread_ts, metadata=once_keys.metadata(key)
            )
        except SlackCallFailed as failure:
            return Unknown(str(failure)) if failure.kind == "unknown" else Refused(str(failure))
        return Sent(str(response.get("ts") or ""), str(response.get("channel") or channel))

    def fallback_text(self, message: Message) -> str:
        """The plain notification text ``message`` is posted with."""
        return payload(message)[0]

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
        if thread_ts is None:
            return self._call(method, lambda: self._client.conversations_history(**args))
        return self._call(method, lambda: self._client.conversations_replies(ts=thread_ts, **args))

    def _conversation(self, channel: str) -> str:
        """A channel id to read: a user id (a DM posted by user id) becomes the bot's DM with them."""
        if channel[:1] not in ("U", "W"):
            return channel
        opened = lambda: self._client.conversations_open(users=channel)  # noqa: E731
        return str(self._answer("conversations.open", opened, "channel")["id"])

    def permalink(self, channel: str, ts: str, *, quick: bool = False) -> str:
        """chat.getPermalink: the URL of message ``ts`` in ``channel``; ``quick``: one try within QUICK s."""
        client = self._quick if quick else self._client
        asked = lambda: client.chat_getPermalink(channel=channel, message_ts=ts)  # noqa: E731
        return str(self._answer("chat.getPermalink", asked, "permalink", str))

    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        """views.publish: ``view`` as the App Home of ``user_id``."""
        refuse_oversized("views.publish", None, view.get("blocks"), "home", view_only=True)
        self._call("views.publish", lambda: self._client.views_publish(user_id=user_id, view=view))

    # ---- people, channels, user groups ------------------------------------------------------------

    def user(self, user_id: str, *, quick: bool = False) -> dict[str, Any]:
        """users.info: Slack's user object of ``user_id``; ``quick``: one try within QUICK seconds."""
        client = self._quick if quick else self._client
        # include_locale: the profile is cached with the user's language (private answers speak it).
        return dict(
            self._answer("users.info", lambda: client.users_info(user=user_id, include_locale=True), "user")
        )

    def user_by_email(self, email: str) -> dict[str, Any]:
        """users.lookupByEmail: Slack's user object of whoever has ``email``."""
        found = lambda: self._client.users_lookupByEmail(email=email)  # noqa: E731
        return dict(self._answer("users.lookupByEmail", found, "user"))

    def channel(self, channel_id: str) -> dict[str, Any]:
        """conversations.info: Slack's channel object of ``channel_id``."""
        info = lambda: self._client.conversations_info(channel=channel_id)  # noqa: E731
        return dict(self._answer("conversations.info", info, "channel"))

    def usergroups(self) -> list[dict[str, Any]]:
        """usergroups.list: every user group of the workspace (disabled ones too), with its members."""
        listed = lambda: self._client.usergroups_list(include_users=True, include_disabled=True)  # noqa: E731
        return list(self._answer("usergroups.list", listed, "usergroups", list))

    def update_usergroup(self, group_id: str, users: Sequence[str]) -> None:
        """usergroups.users.update: make ``users`` the members of the group (Slack refuses an empty list)."""
        members = ",".join(users)
        self._call(
            "usergroups.users.update",
            lambda: self._client.usergroups_users_update(usergroup=group_id, users=members),
        )
