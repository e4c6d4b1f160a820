"""The App Home tab: every team's on-call and sync health, and the user's own shifts. Pure renderers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.model.oncall import MyShifts, TeamHome, UserZone
from app.slack.blocks import cap_blocks, context, escape, fit_sections, plain
from app.slack.limits import VIEW_BLOCKS, fit_lines, fit_names, header
from app.slack.oncall_blocks import (
    PEOPLE_CHARS,
    clock,
    freshness_line,
    me_lines,
    moment,
    more_teams,
    people,
    person,
    zone_line,
)

HOME_BLOCKS = VIEW_BLOCKS
# Slack refuses a view over 250 kB (view_too_large): the teams' text stays far below, JSON and all.
HOME_CHARS = 100_000
MINE_BLOCKS = 40  # the user's own shifts may take this many sections; the teams get the rest
MORE_SHIFTS = "More shifts than fit here: ask `/oncall me`."
_GROUP_ID = re.compile(r"^S[A-Z0-9]{6,}$")


def sync_line(home: TeamHome, zone: str, now: datetime, source: str) -> str:
    """The team's health in one line: ok, stale, unmapped people, or a failed usergroup sync."""
    group = escape(home.now.team.usergroup)
    group = group if _GROUP_ID.match(group) else f"@{group}"
    fresh = home.now.freshness
    if fresh.as_of is None and fresh.failing_since is None:
        return f"Sync: *no data yet* — {freshness_line(fresh, zone, now, source)}"
    if fresh.failing_since is not None or fresh.stale:
        return f"Sync: *stale* — {freshness_line(fresh, zone, now, source)}"
    if home.unmapped:
        unmapped = fit_names([person(p) for p in home.unmapped], PEOPLE_CHARS)
        return f"Sync: *unmapped people* — not in {group}: {unmapped}"
    if home.sync_result is None:
        return f"Sync: *not yet* — {group} has not been synced"
    when = clock(home.sync_at, zone, now) if home.sync_at else "?"
    if home.sync_result in ("updated", "unchanged"):
        return f"Sync: *ok* — {group} {home.sync_result} at {when}"
    detail = f": {escape(plain(home.sync_detail, 300))}" if home.sync_detail else ""
    return f"Sync: *{escape(home.sync_result)}* at {when} — {group}{detail}"


def home_view(
    teams: Sequence[TeamHome],
    mine: MyShifts,
    zone: UserZone,
    now: datetime,
    source: str,
    *,
    profile_known: bool,
) -> dict[str, Any]:
    """The App Home tab: every team's on-call now and sync health, and the user's next shift."""
    z = zone.name
    entries = []
    for home in teams:
        until = f" until {moment(home.now.until, z, now)}" if home.now.until and home.now.people else ""
        health = sync_line(home, z, now, source)
        fresh = freshness_line(home.now.freshness, z, now, source)
        health = health if fresh in health else f"{health} · _{fresh}_"  # say an outage once, not twice
        entries.append(f"*{escape(home.now.team.name)}*: {people(home.now.people)}{until}\n{health}\n")
    entries = entries or ["_No teams are configured._"]
    yours = [
        {"type": "divider"},
        header("Your shifts"),
        *cap_blocks(fit_sections(me_lines(mine, z, now, profile_known)), MINE_BLOCKS, MORE_SHIFTS),
        context(f"{zone_line(zone)} Updated {clock(now, z, now)}."),
    ]
    # Only with hundreds of teams: the user's part (itself capped) keeps its room, the teams part gives way.
    room = HOME_BLOCKS - 1 - len(yours)
    listed = fit_lines(entries, max_chars=HOME_CHARS, max_blocks=room, more=_teams_left)
    return {"type": "home", "blocks": [header("On call now"), *listed, *yours]}


def _teams_left(left: list[str]) -> str:
    return more_teams(len(left), "ask `/oncall <team>` for one of them")
