"""Posting helpers on the gateway: ``try_*`` turn every Slack or network failure into a logged None/False."""

from __future__ import annotations

import logging
from typing import Any

from app.chat import SlackCallFailed
from app.slack.gateway import SlackGateway

log = logging.getLogger(__name__)

# chat.postMessage's failures are the gateway's, like every other call's.
PostFailed = SlackCallFailed


def post_message(
    gateway: SlackGateway,
    channel: str,
    *,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
) -> str:
    """Post to ``channel`` (or a user id for a DM); return the message ts, or raise SlackCallFailed."""
    return gateway.post(channel, text=text, blocks=blocks, thread_ts=thread_ts)


def try_post(
    gateway: SlackGateway,
    channel: str,
    *,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
) -> str | None:
    """Like post_message, but log the failure and return None instead of raising."""
    try:
        return gateway.post(channel, text=text, blocks=blocks, thread_ts=thread_ts)
    except SlackCallFailed as failure:
        log.error("could not post in %s: %s", channel, failure)
        return None


def try_update(
    gateway: SlackGateway, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]] | None = None
) -> bool:
    """chat.update of one of the bot's messages; a refusal is logged and False."""
    try:
        gateway.update(channel, ts, text=text, blocks=blocks)
    except SlackCallFailed as failure:
        log.error("could not update %s/%s: %s", channel, ts, failure)
        return False
    return True


def try_ephemeral(
    gateway: SlackGateway, channel: str, user: str, *, text: str, thread_ts: str | None = None
) -> bool:
    """chat.postEphemeral of one sentence to ``user``; a refusal is logged and False."""
    try:
        gateway.ephemeral(channel, user, text=text, thread_ts=thread_ts)
    except SlackCallFailed as failure:
        log.error("could not tell %s in %s: %s", user, channel, failure)
        return False
    return True
