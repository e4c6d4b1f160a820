"""The App Home tab: every team's on-call and sync health, and the user's own shifts. Pure renderers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from app.i18n import EN, N_, Translator
from app.model.oncall import MyShifts, TeamHome, UserZone
from app.slack.blocks import cap_blocks, context, escape, fit_sections, more_names, plain
from app.slack.limits import VIEW_BLOCKS, VIEW_BYTES, fit_lines, fit_names, header, wire_size
from app.slack.me_blocks import me_lines
from app.slack.oncall_blocks import freshness_line, more_teams, zone_line
from app.slack.words import PEOPLE_CHARS, clock, moment, people, person

HOME_BLOCKS = VIEW_BLOCKS
# Slack refuses a view over 250 kB of JSON (view_too_large). The teams' text gets what the user's part
# leaves, counted as sent (a Japanese character is 6 bytes there), less room for every block's own JSON.
BLOCK_JSON = 200
MINE_BLOCKS = 40  # the user's own shifts may take this many sections; the teams get the rest
MORE_SHIFTS = N_("More shifts than fit here: ask `/oncall me`.")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{6,}$")


def sync_line(home: TeamHome, zone: str, now: datetime, source: str, t: Translator = EN) -> str:
    """The team's health in one line: ok, stale, unmapped people, or a failed usergroup sync."""
    group = escape(home.now.team.usergroup)
    group = group if _GROUP_ID.match(group) else f"@{group}"
    fresh = home.now.freshness
    if fresh.as_of is None and fresh.failing_since is None:
        return t("Sync: *no data yet* — {fresh}", fresh=freshness_line(fresh, zone, now, source, t))
    if fresh.failing_since is not None or fresh.stale:
        return t("Sync: *stale* — {fresh}", fresh=freshness_line(fresh, zone, now, source, t))
    if home.unmapped:
        unmapped = fit_names([person(p, t) for p in home.unmapped], PEOPLE_CHARS, more=more_names(t))
        return t("Sync: *unmapped people* — not in {group}: {people}", group=group, people=unmapped)
    if home.sync_result is None:
        return t("Sync: *not yet* — {group} has not been synced", group=group)
    when = clock(home.sync_at, zone, now, t) if home.sync_at else "?"
    if home.sync_result in ("updated", "unchanged"):
        ok = {
            "updated": t("Sync: *ok* — {group} updated at {when}", group=group, when=when),
            "unchanged": t("Sync: *ok* — {group} unchanged at {when}", group=group, when=when),
        }
        return ok[home.sync_result]
    detail = f": {escape(plain(home.sync_detail, 300))}" if home.sync_detail else ""
    return t(
        "Sync: *{result}* at {when} — {group}{detail}",
        result=escape(home.sync_result),
        when=when,
        group=group,
        detail=detail,
    )


def home_view(
    teams: Sequence[TeamHome],
    mine: MyShifts,
    zone: UserZone,
    now: datetime,
    source: str,
    *,
    profile_known: bool,
    t: Translator = EN,
) -> dict[str, Any]:
    """The App Home tab: every team's on-call now and sync health, and the user's next shift."""
    z = zone.name
    entries = []
    for home in teams:
        until = ""
        if home.now.until and home.now.people:
            until = " " + t("until {when}", when=moment(home.now.until, z, now, t))
        health = sync_line(home, z, now, source, t)
        fresh = freshness_line(home.now.freshness, z, now, source, t)
        health = health if fresh in health else f"{health} · _{fresh}_"  # say an outage once, not twice
        entries.append(f"*{escape(home.now.team.name)}*: {people(home.now.people, t)}{until}\n{health}\n")
    entries = entries or [t("_No teams are configured._")]
    updated = t("Updated {when}.", when=clock(now, z, now, t))
    yours = [
        {"type": "divider"},
        header(t("Your shifts")),
        *cap_blocks(fit_sections(me_lines(mine, z, now, profile_known, t)), MINE_BLOCKS, t(MORE_SHIFTS)),
        context(f"{zone_line(zone, t)} {updated}"),
    ]
    # Only with hundreds of teams: the user's part (itself capped) keeps its room, the teams part gives way.
    room = HOME_BLOCKS - 1 - len(yours)
    budget = VIEW_BYTES - len(json.dumps(yours)) - BLOCK_JSON * (room + 1) - wire_size(t("On call now"))
    listed = fit_lines(entries, max_chars=budget, max_blocks=room, more=_teams_left(t), size=wire_size)
    return {"type": "home", "blocks": [header(t("On call now")), *listed, *yours]}


def _teams_left(t: Translator) -> Callable[[list[str]], str]:
    return lambda left: more_teams(len(left), N_("ask `/oncall <team>` for one of them"), t)
