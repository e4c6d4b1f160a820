"""Who may page and press Acknowledge/Resolve: workspace members who are neither guests nor bots.

The answer comes from the cached Slack profile; a user the cache does not know (or knows only from
before guests were recorded) is asked about with the gateway's quick users.info (one try within a second), so
that a page never waits on a slow Slack. When even that fails the verdict is ``unknown``: a mention then
offers the Page button instead of paging, and a press is refused with a sentence to try again.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from sqlalchemy.exc import SQLAlchemyError

from app.chat import SlackCallFailed
from app.runtime import Runtime
from app.services.slack_users import store_user
from app.store.db import reading
from app.store.models import SlackUser

log = logging.getLogger(__name__)

Verdict = Literal["member", "guest", "bot", "unknown"]


def _verdict(row: SlackUser | None) -> Verdict | None:
    if row is None or row.is_guest is None:
        return None
    if row.is_bot:
        return "bot"
    return "guest" if row.is_guest else "member"


def _ask_quickly(runtime: Runtime, user_id: str) -> dict[str, Any] | None:
    """The gateway's quick users.info; the user, or None when Slack did not answer in time or refused."""
    try:
        return runtime.slack.user(user_id, quick=True)
    except SlackCallFailed as failure:
        log.warning("could not tell whether %s is a guest: %s", user_id, failure)
        return None


def _store(runtime: Runtime, user_id: str, user: dict[str, Any]) -> None:
    try:
        with runtime.sessions.begin() as session:
            store_user(session, user_id, user, runtime.now())
    except SQLAlchemyError as error:  # a profile is a cache: the verdict stands without it
        log.warning("could not cache the profile of %s: %s", user_id, error)


def membership(runtime: Runtime, user_id: str, *, cache_now: bool = False) -> Verdict:
    """Whether ``user_id`` is a full member, a guest or a bot; ``unknown`` when Slack cannot tell us now.

    ``cache_now``: store the profile before answering (a press credits the person by name at the pager);
    a mention stores it in the background instead, so that its page never waits on the write lock.
    """
    with reading(runtime.sessions) as session:
        known = _verdict(session.get(SlackUser, user_id))
    if known is not None:
        return known
    user = _ask_quickly(runtime, user_id)
    if user is None:
        return "unknown"
    if cache_now:
        _store(runtime, user_id, user)
    else:  # off this path: a page must not wait on the database's write lock for a profile
        runtime.background.run(f"cache the profile of {user_id}", lambda: _store(runtime, user_id, user))
    guest = bool(user.get("is_restricted") or user.get("is_ultra_restricted"))
    return "bot" if user.get("is_bot") else ("guest" if guest else "member")


def may_page(runtime: Runtime, user_id: str, *, guests_may_page: bool, cache_now: bool = False) -> Verdict:
    """``member`` when ``user_id`` may page and act on alerts; otherwise why not."""
    verdict = membership(runtime, user_id, cache_now=cache_now)
    if verdict == "guest" and guests_may_page:
        return "member"
    return verdict
