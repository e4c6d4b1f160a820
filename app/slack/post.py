"""The one way the bot posts a message: every Slack or network failure becomes a logged, explained None."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from app.slack.errors import SLACK_FAILURES, call_failed
from app.slack.limits import BlockKitLimitError, validate_message

log = logging.getLogger(__name__)


class PostFailed(Exception):
    """chat.postMessage did not go through; ``str()`` says why in a sentence."""


def post_message(
    client: WebClient,
    channel: str,
    *,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
) -> str:
    """Post to ``channel`` (or a user id for a DM); return the message ts, or raise PostFailed."""
    try:
        validate_message(text, blocks)  # what Slack would refuse (invalid_blocks) is refused here, in words
        response = client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, unfurl_links=False
        )
    except BlockKitLimitError as error:
        raise PostFailed(f"the message breaks Slack's Block Kit limits ({error})") from error
    except SLACK_FAILURES as error:
        raise PostFailed(str(call_failed("chat.postMessage", error))) from error
    return str(response.get("ts") or "")


def try_post(
    client: WebClient,
    channel: str,
    *,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
) -> str | None:
    """Like post_message, but log the failure and return None instead of raising."""
    try:
        return post_message(client, channel, text=text, blocks=blocks, thread_ts=thread_ts)
    except PostFailed as failure:
        log.error("could not post in %s: %s", channel, failure)
        return None


def try_update(
    client: WebClient, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]] | None = None
) -> bool:
    """chat.update of one of the bot's messages; a refusal is logged and False."""
    try:
        validate_message(text, blocks)
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except BlockKitLimitError as error:
        log.error("could not update %s/%s: it breaks Block Kit limits (%s)", channel, ts, error)
        return False
    except SLACK_FAILURES as error:
        log.error("could not update %s/%s: %s", channel, ts, call_failed("chat.update", error))
        return False
    return True


def try_ephemeral(
    client: WebClient, channel: str, user: str, *, text: str, thread_ts: str | None = None
) -> bool:
    """chat.postEphemeral of one sentence to ``user``; a refusal is logged and False."""
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
    except SLACK_FAILURES as error:
        log.error("could not tell %s in %s: %s", user, channel, call_failed("chat.postEphemeral", error))
        return False
    return True
