"""Who asks /oncall, in which zone and language, about which team: and the memo's key for that answer."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain import Team
from app.model.oncall import UserZone
from app.runtime import Runtime
from app.services import slack_users

PER_TEAM = ("now", "next", "week")


@dataclass(frozen=True, slots=True)
class Reader:
    """The asker's zone and language, the team the question is about, and the memo's key for it."""

    zone: UserZone
    language: str
    chosen: Team | None  # the team named, or the channel's (None: every team)
    key: Hashable


def reader_of(
    runtime: Runtime, kind: str, team: str | None, user_id: str, channel_id: str, row: Any, now: datetime
) -> Reader:
    """The reader of a ``kind`` question about ``team`` from ``row``, their cached profile (None: unknown)."""
    config = runtime.config
    here = config.team_for_channel(channel_id)
    zone = slack_users.zone_of(row, here.timezone if here else config.timezone, now)
    chosen = config.team(team) if team else here
    about_one = chosen if kind in PER_TEAM else here
    fallback = about_one.language if about_one is not None else config.language
    language = slack_users.choose_reader_language(zone.locale, fallback)
    mine = kind == "me"
    # Everything the answer depends on besides the cache and the clock.
    named = None if mine or chosen is None else chosen.name
    key = (kind, named, language, zone.name, zone.known, user_id if mine else None)
    return Reader(zone, language, chosen, key)
