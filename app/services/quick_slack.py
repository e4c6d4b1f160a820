"""Slack calls on a page's path, asked once within a second: a page never waits on a slow Slack for them."""

from __future__ import annotations

import logging

from app.chat import SlackCallFailed
from app.runtime import Runtime

log = logging.getLogger(__name__)


def quick_permalink(runtime: Runtime, channel: str, ts: str) -> str | None:
    """The message's permalink if Slack gives it at once (the gateway's quick try); None otherwise."""
    try:
        return runtime.slack.permalink(channel, ts, quick=True)
    except SlackCallFailed as failure:
        log.warning("no permalink for %s/%s at once: %s; paging without it", channel, ts, failure)
        return None
