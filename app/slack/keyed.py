"""Posts that carry their own once-key (Slack message metadata), and finding them again by reading back.

A post either went through (``Sent``), was refused by Slack or never left (``Refused``: safe to try again),
or its outcome is unknown (``Unknown``: the request was sent but no answer came; Slack may have posted it).
An unknown outcome is resolved with ``find_keyed``, which reads the channel (or the thread) back and looks
for the message whose metadata carries the key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from app.slack.errors import SLACK_FAILURES, call_failed
from app.slack.limits import BlockKitLimitError, validate_message

log = logging.getLogger(__name__)

PAGE = 200  # messages per history page
MAX_PAGES = 10  # read back at most this many messages (2,000) since the attempt began


@dataclass(frozen=True)
class Sent:
    """Slack posted it: ``ts`` of the message in ``channel`` (for a DM, the D… id)."""

    ts: str
    channel: str


@dataclass(frozen=True)
class Refused:
    """Slack answered that it did not post, or the request never left: try again."""

    reason: str


@dataclass(frozen=True)
class Unknown:
    """The request went out but no answer came back: Slack may or may not have posted it."""

    reason: str


PostResult = Sent | Refused | Unknown


class ReadBackFailed(Exception):
    """Reading the conversation back failed; ``str()`` says why in a sentence."""


@dataclass(frozen=True)
class Key:
    """What a once-only post carries in its metadata: the kind of post and its unique key."""

    event_type: str
    key: str

    def metadata(self) -> dict[str, Any]:
        """The chat.postMessage ``metadata`` argument."""
        return {"event_type": self.event_type, "event_payload": {"key": self.key}}

    def matches(self, message: dict[str, Any]) -> bool:
        """True when ``message`` (as conversations.history returns it) carries this key."""
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        return metadata.get("event_type") == self.event_type and payload.get("key") == self.key


def _single_shot(client: WebClient) -> WebClient:
    """The client without its connection and server-error retries: each would be a second post.

    A 429 is still waited out: Slack answered that it did not take the request.
    """
    handlers: list[RetryHandler] = [
        h for h in client.retry_handlers if isinstance(h, RateLimitErrorRetryHandler)
    ]
    return WebClient(
        token=client.token, base_url=client.base_url, timeout=client.timeout, retry_handlers=handlers
    )


def classify(error: Exception) -> Refused | Unknown:
    """Whether a failed post may have been posted all the same."""
    sentence = str(call_failed("chat.postMessage", error))
    if isinstance(error, SlackApiError):
        status = error.response.status_code if error.response is not None else 200
        # A 5xx may come from a proxy after Slack took the post; an error answer is a refusal.
        return Unknown(sentence) if status >= 500 else Refused(sentence)
    if isinstance(error, URLError):
        return Refused(sentence)  # urllib raises URLError only while connecting or sending: no answer pending
    if isinstance(error, SlackClientError):
        return Refused(sentence)
    return Unknown(sentence)  # a timeout or a dropped connection while waiting for the answer


def post_keyed(
    client: WebClient,
    channel: str,
    key: Key,
    *,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
) -> PostResult:
    """Post once (no blind retries) with ``key`` in the message metadata; say how it went."""
    try:
        validate_message(text, blocks)
    except BlockKitLimitError as error:  # what Slack would refuse is refused here, in words
        return Refused(f"the message breaks Slack's Block Kit limits ({error})")
    try:
        response = _single_shot(client).chat_postMessage(
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            metadata=key.metadata(),
        )
    except SLACK_FAILURES as error:
        return classify(error)
    return Sent(str(response.get("ts") or ""), str(response.get("channel") or channel))


def _conversation(client: WebClient, channel: str) -> str:
    """A channel id to read: a user id (a DM posted by user id) becomes the bot's DM with them."""
    if channel[:1] not in ("U", "W"):
        return channel
    return str(client.conversations_open(users=channel)["channel"]["id"])


def find_keyed(
    client: WebClient,
    channel: str,
    key: Key,
    *,
    oldest: datetime | None = None,
    thread_ts: str | None = None,
) -> str | None:
    """The ts of the bot's message carrying ``key`` in ``channel`` (or in the thread), or None.

    Reads newest first from ``oldest`` on; raises ReadBackFailed when Slack cannot be read.
    """
    try:
        conversation = _conversation(client, channel)
        cursor = None
        for _ in range(MAX_PAGES):
            args: dict[str, Any] = {"channel": conversation, "limit": PAGE, "include_all_metadata": True}
            if oldest is not None:
                args["oldest"] = f"{oldest.timestamp():.6f}"
            if cursor:
                args["cursor"] = cursor
            if thread_ts is None:
                page = client.conversations_history(**args)
            else:
                page = client.conversations_replies(ts=thread_ts, **args)
            for message in page.get("messages") or []:
                if isinstance(message, dict) and key.matches(message):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
    except SLACK_FAILURES as error:
        method = "conversations.replies" if thread_ts else "conversations.history"
        raise ReadBackFailed(str(call_failed(method, error))) from error
    except (KeyError, TypeError) as error:
        raise ReadBackFailed(f"Slack's answer lacked the messages: {error}") from error
    log.warning("read back %d messages of %s without finding %s", PAGE * MAX_PAGES, channel, key.key)
    return None
