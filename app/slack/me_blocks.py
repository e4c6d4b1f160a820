"""The asker's own shifts, for ``/oncall me`` and the App Home: pure, like every renderer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from app.i18n import EN, Translator
from app.model.oncall import MyShifts, UserZone
from app.slack.blocks import escape, plain
from app.slack.oncall_blocks import BULLET, answer, freshness_line
from app.slack.words import NAME_LIMIT, moment, shift_span

UNKNOWN_SHOWN = 10  # teams named in a "not known yet" line before "and N more"


def _mine_left(t: Translator) -> Callable[[list[str]], str]:
    def pointer(left: list[str]) -> str:
        shifts = sum(1 for line in left if line.startswith(BULLET)) or len(left)
        counted = t.ngettext("{n} more shift", "{n} more shifts", shifts)
        return t("… and {shifts}: the pager's schedules have them all.", shifts=counted)

    return pointer


def me_lines(mine: MyShifts, zone: str, now: datetime, profile_known: bool, t: Translator = EN) -> list[str]:
    """The user's current and next shifts as lines (shared by /oncall me and the App Home)."""
    if not mine.identities:
        if not profile_known:
            return [t("I am still looking up your Slack profile: ask again in a moment.")]
        return [
            t(
                "I could not match you to anyone in the pager's schedules: your Slack email must be your "
                "pager login, or an admin can map you under `[people]`."
            )
        ]
    lines = [
        t(
            "You are on call now for *{team}* until {when}",
            team=escape(s.team),
            when=moment(s.end, zone, now, t),
        )
        for s in mine.current
    ]
    lines += [f"{BULLET}*{escape(s.team)}*: {shift_span(s, zone, now, t)}" for s in mine.upcoming]
    if mine.upcoming:
        lines.insert(len(mine.current), t("*Your next shifts*"))
    elif mine.freshness.as_of is not None:  # a claim about the schedules I have, and only those
        until = moment(mine.known_until, zone, now, t) if mine.known_until else None
        if mine.current:
            lines.append(
                t(
                    "You have no other upcoming shifts in the schedules I have (they reach {until}).",
                    until=until,
                )
                if until
                else t("You have no other upcoming shifts in the schedules I have.")
            )
        else:
            lines.append(
                t("You have no upcoming shifts in the schedules I have (they reach {until}).", until=until)
                if until
                else t("You have no upcoming shifts in the schedules I have.")
            )
    if mine.unknown_teams:
        lines.append(_not_known_yet(mine.unknown_teams, t))
    return lines


def _not_known_yet(teams: Sequence[str], t: Translator) -> str:
    """Names the teams whose schedule has not arrived: missing data is never "no shifts"."""
    shown = [f"*{escape(plain(x, NAME_LIMIT))}*" for x in teams[:UNKNOWN_SHOWN]]
    if len(teams) > UNKNOWN_SHOWN:
        shown.append(t.ngettext("{n} more team", "{n} more teams", len(teams) - UNKNOWN_SHOWN))
    if len(shown) == 1:
        return t(
            "Your shifts in {team} are not known yet: I have no schedule from the pager for it yet.",
            team=shown[0],
        )
    names = t("{names} and {last}", names=t(", ").join(shown[:-1]), last=shown[-1])
    return t(
        "Your shifts in {teams} are not known yet: I have no schedule from the pager for them yet.",
        teams=names,
    )


def me_answer(
    mine: MyShifts, zone: UserZone, now: datetime, source: str, *, profile_known: bool, t: Translator = EN
) -> dict[str, Any]:
    """The asking user's current and next shifts across all teams."""
    lines = me_lines(mine, zone.name, now, profile_known, t)
    notes = [freshness_line(mine.freshness, zone.name, now, source, t)] if mine.identities else []
    return answer(" ".join(lines).replace("*", ""), lines, notes, zone, _mine_left(t), t)
