"""Pure renderers for /oncall answers and the App Home: view values in, Block Kit payloads out."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.model.oncall import (
    Freshness,
    MyShifts,
    Person,
    ShiftView,
    TeamNext,
    TeamNow,
    TeamWeek,
    UserZone,
)
from app.slack.blocks import (
    MESSAGE_BLOCKS,
    ago,
    cap_blocks,
    context,
    ephemeral,
    escape,
    fit_sections,
    help_message,
    plain,
    section,
    teams_line,
)
from app.slack.limits import fit_lines, fit_names, truncate

NAME_LIMIT = 80
FALLBACK_LIMIT = 500
ANSWER_CHARS = 12_000
PEOPLE_CHARS = 1_000  # one list of people in one line; the rest are counted
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_STATUS_NOTES = {
    "not_found": "no Slack account",
    "deleted": "deactivated in Slack",
    "bot": "a bot",
    "no_email": "email hidden in the pager: map the id under [people]",
}
_WEEK_HEAD = " — the next 7 days"
UNKNOWN_SHOWN = 10  # teams named in a "not known yet" line before "and N more"
MORE = "More teams than fit here: ask `/oncall <team>` for one team."
ONE_TEAM = "ask `/oncall <team>` for one team"


def more_teams(count: int, hint: str = ONE_TEAM) -> str:
    """The pointer under a list of teams that was cut: how many are missing and where to look."""
    return f"… and {count} more team{'s' if count != 1 else ''}: {hint}."


def _count(count: int, word: str) -> str:
    return f"{count} more {word}{'s' if count != 1 else ''}"


# ---- words for times, people and freshness ---------------------------------------------------------


def zone_abbreviation(local: datetime) -> str:
    """The zone's abbreviation at that instant (CET/CEST, PST/PDT); numeric ones read as UTC+04."""
    name = local.tzname() or ""
    return name if name[:1].isalpha() else f"UTC{name}"


def clock(at: datetime, zone: str, now: datetime) -> str:
    """``11:35 CET`` on the same local day as ``now``, else ``Mon 2 Dec 11:35 CET``."""
    local, today = at.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone))
    day = "" if local.date() == today.date() else f"{local:%a} {local.day} {local:%b} "
    return f"{day}{local:%H:%M} {zone_abbreviation(local)}"


def moment(at: datetime, zone: str, now: datetime) -> str:
    """A moment with its day named: ``today 09:00 CET``, ``tomorrow 09:00 CET``, ``Mon 9 Dec 09:00 CET``."""
    local, today = at.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone))
    days = (local.date() - today.date()).days
    day = {0: "today", 1: "tomorrow"}.get(days, f"{local:%a} {local.day} {local:%b}")
    return f"{day} {local:%H:%M} {zone_abbreviation(local)}"


def freshness_line(fresh: Freshness, zone: str, now: datetime, source: str) -> str:
    """How old the answer is, said plainly; never pretends that missing data means nobody."""
    if fresh.failing_since is not None:
        since = clock(fresh.failing_since, zone, now)
        if fresh.as_of is None:
            return f":warning: {source} unreachable since {since} — no data yet"
        shown = clock(fresh.as_of, zone, now)
        return f":warning: {source} unreachable since {since} — showing data from {shown}"
    if fresh.as_of is None:
        return f":hourglass: No data from {source} yet: the first refresh has not finished"
    line = f"as of {clock(fresh.as_of, zone, now)}, {ago(now - fresh.as_of)}"
    return f":warning: {line} — older than expected: is the bot's refresh running?" if fresh.stale else line


def person(who: Person) -> str:
    """A mention when the person maps to a Slack user (ephemeral: it notifies nobody), else a name."""
    if who.mentionable and who.slack_user_id and _USER_ID.match(who.slack_user_id):
        return f"<@{who.slack_user_id}>"
    label = escape(plain(who.name or who.pager_id, NAME_LIMIT))
    note = _STATUS_NOTES.get(who.status)
    return f"{label} ({note})" if note else label


def people(who: Sequence[Person] | None) -> str:
    """A list of people; an empty one is a real answer from the pager (a gap), not missing data."""
    if who is None:
        return "_not known yet_"
    return fit_names([person(p) for p in who], PEOPLE_CHARS) if who else "_nobody_ (the schedule has a gap)"


def zone_line(zone: UserZone) -> str:
    """Which zone the times are in, and why."""
    if zone.known:
        return f"Times in {escape(zone.name)}, your Slack time zone."
    return f"Times in {escape(zone.name)}: I do not know your Slack time zone yet."


def shift_span(shift: ShiftView, zone: str, now: datetime) -> str:
    """``Mon 2 Dec 09:00 CET → Mon 9 Dec 09:00 CET``."""
    return f"{moment(shift.start, zone, now)} → {moment(shift.end, zone, now)}"


def _answer(
    fallback: str,
    lines: list[str],
    notes: list[str],
    zone: UserZone,
    more: Callable[[list[str]], str],
) -> dict[str, Any]:
    """Whole lines up to ANSWER_CHARS (a wall of text helps nobody), then ``more(left out)`` as a pointer."""
    tail = [*(context(n) for n in notes), context(zone_line(zone))]
    sections = fit_lines(lines, max_chars=ANSWER_CHARS, max_blocks=MESSAGE_BLOCKS - len(tail), more=more)
    return ephemeral(truncate(fallback, FALLBACK_LIMIT), [*sections, *tail])


def _teams_left(left: list[str]) -> str:
    """One line per team was left out."""
    return more_teams(len(left))


def _shifts_left(left: list[str]) -> str:
    """Team headings and shift lines were left out of a week's answer."""
    teams = sum(1 for line in left if f"{_WEEK_HEAD}*" in line)
    shifts = sum(1 for line in left if line.startswith("• "))
    if teams:
        counted = f"{_count(teams, 'team')} ({_count(shifts, 'shift')})"
        return f"… and {counted}: ask `/oncall week <team>` for one team."
    return f"… and {_count(shifts, 'shift')} in the next 7 days: the pager's schedule has them all."


def _mine_left(left: list[str]) -> str:
    shifts = sum(1 for line in left if line.startswith("• ")) or len(left)
    return f"… and {_count(shifts, 'shift')}: the pager's schedules have them all."


# ---- /oncall answers ---------------------------------------------------------------------------------


def now_answer(teams: Sequence[TeamNow], zone: UserZone, now: datetime, source: str) -> dict[str, Any]:
    """Who is on call now: one team in full, several teams one line each."""
    z = zone.name
    if len(teams) == 1:
        team = teams[0]
        until = f"\nuntil {moment(team.until, z, now)}" if team.until and team.people else ""
        head = f"*On call for {escape(team.team.name)} now:* {people(team.people)}{until}"
        return _answer(
            f"On call for {escape(team.team.name)} now: {people(team.people)}",
            [head],
            [freshness_line(team.freshness, z, now, source)],
            zone,
            _teams_left,
        )
    lines = ["*On call now*"]
    for team in teams:
        until = f" · until {moment(team.until, z, now)}" if team.until and team.people else ""
        fresh = freshness_line(team.freshness, z, now, source)
        lines.append(f"*{escape(team.team.name)}*: {people(team.people)}{until} · _{fresh}_")
    fallback = "On call now — " + "; ".join(f"{escape(t.team.name)}: {people(t.people)}" for t in teams)
    return _answer(fallback, lines, [], zone, _teams_left)


def _next_line(team: TeamNext, zone: str, now: datetime) -> str:
    name = escape(team.team.name)
    if team.freshness.as_of is None:
        return f"*{name}*: _no schedule from the pager yet_"
    if team.at is None:
        until = (
            f" (the schedule I have ends {moment(team.known_until, zone, now)})" if team.known_until else ""
        )
        return f"*{name}*: no handover in the schedule I have{until}; on call now: {people(team.current)}"
    return (
        f"*{name}*: {people(team.incoming)} from {moment(team.at, zone, now)} (now: {people(team.current)})"
    )


def _next_said(team: TeamNext) -> str:
    """A team's next handover in the plain-text fallback."""
    if team.freshness.as_of is None:
        return "not known yet"
    return people(team.incoming) if team.at else "no handover known"


def next_answer(teams: Sequence[TeamNext], zone: UserZone, now: datetime, source: str) -> dict[str, Any]:
    """Who takes over next, and when the handover is."""
    z = zone.name
    if len(teams) == 1:
        lines, notes = (
            ["*Next on call*", _next_line(teams[0], z, now)],
            [freshness_line(teams[0].freshness, z, now, source)],
        )
    else:
        lines, notes = ["*Next on call*"], []
        lines += [f"{_next_line(t, z, now)} · _{freshness_line(t.freshness, z, now, source)}_" for t in teams]
    fallback = "Next on call — " + "; ".join(f"{escape(t.team.name)}: {_next_said(t)}" for t in teams)
    return _answer(fallback, lines, notes, zone, _teams_left)


def _week_said(week: TeamWeek) -> str:
    """A team's week in the plain-text fallback: missing data is "not known yet", never "nobody"."""
    if week.freshness.as_of is None:
        return "not known yet"
    return ", ".join(person(s.person) for s in week.shifts) or "nobody scheduled"


def week_answer(weeks: Sequence[TeamWeek], zone: UserZone, now: datetime, source: str) -> dict[str, Any]:
    """The shifts of the next seven days, per team."""
    z = zone.name
    lines: list[str] = []
    for week in weeks:
        fresh = freshness_line(week.freshness, z, now, source)
        lines.append(f"*{escape(week.team.name)}{_WEEK_HEAD}* · _{fresh}_")
        if week.freshness.as_of is not None and not week.shifts:
            lines.append("_nobody is scheduled in the next 7 days_")
        lines += [f"• {person(s.person)}: {shift_span(s, z, now)}" for s in week.shifts]
        if week.known_until is not None and week.known_until < now + timedelta(days=7):
            lines.append(f"_nothing in the schedule I have after {moment(week.known_until, z, now)}_")
    fallback = "On call this week — " + "; ".join(f"{escape(w.team.name)}: {_week_said(w)}" for w in weeks)
    return _answer(fallback, lines, [], zone, _shifts_left)


def me_lines(mine: MyShifts, zone: str, now: datetime, profile_known: bool) -> list[str]:
    """The user's current and next shifts as lines (shared by /oncall me and the App Home)."""
    if not mine.identities:
        if not profile_known:
            return ["I am still looking up your Slack profile: ask again in a moment."]
        return [
            "I could not match you to anyone in the pager's schedules: your Slack email must be your "
            "pager login, or an admin can map you under `[people]`."
        ]
    lines = [
        f"You are on call now for *{escape(s.team)}* until {moment(s.end, zone, now)}" for s in mine.current
    ]
    lines += [f"• *{escape(s.team)}*: {shift_span(s, zone, now)}" for s in mine.upcoming]
    if mine.upcoming:
        lines.insert(len(mine.current), "*Your next shifts*")
    elif mine.freshness.as_of is not None:  # a claim about the schedules I have, and only those
        until = f" (they reach {moment(mine.known_until, zone, now)})" if mine.known_until else ""
        other = "other " if mine.current else ""
        lines.append(f"You have no {other}upcoming shifts in the schedules I have{until}.")
    if mine.unknown_teams:
        lines.append(_not_known_yet(mine.unknown_teams))
    return lines


def _not_known_yet(teams: Sequence[str]) -> str:
    """Names the teams whose schedule has not arrived: missing data is never "no shifts"."""
    shown = [f"*{escape(plain(t, NAME_LIMIT))}*" for t in teams[:UNKNOWN_SHOWN]]
    if len(teams) > UNKNOWN_SHOWN:
        shown.append(f"{len(teams) - UNKNOWN_SHOWN} more teams")
    names = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    them = "it" if len(teams) == 1 else "them"
    return f"Your shifts in {names} are not known yet: I have no schedule from the pager for {them} yet."


def me_answer(
    mine: MyShifts, zone: UserZone, now: datetime, source: str, *, profile_known: bool
) -> dict[str, Any]:
    """The asking user's current and next shifts across all teams."""
    lines = me_lines(mine, zone.name, now, profile_known)
    notes = [freshness_line(mine.freshness, zone.name, now, source)] if mine.identities else []
    return _answer(" ".join(lines).replace("*", ""), lines, notes, zone, _mine_left)


def unknown_team(word: str, suggestions: Sequence[str], team_names: Sequence[str]) -> dict[str, Any]:
    """A near miss: "did you mean …" with the teams and subcommands that are close."""
    shown = escape(plain(word, NAME_LIMIT))
    if not suggestions:
        return usage(team_names, word)
    options = " or ".join(f"`{escape(s)}`" for s in suggestions)
    lines = [f"I do not know `{shown}`. Did you mean {options}?"]
    blocks = [
        *fit_sections(lines),
        context(teams_line(team_names) if team_names else "No teams are configured."),
    ]
    fallback = f"I do not know {shown}. Did you mean {' or '.join(escape(s) for s in suggestions)}?"
    return ephemeral(fallback, cap_blocks(blocks, MESSAGE_BLOCKS, MORE))


def cache_unreadable() -> dict[str, Any]:
    """The answer when the cache cannot be read or an answer not built from it (the error is logged)."""
    text = "Sorry, I cannot read my on-call cache right now. Please try again in a minute."
    return ephemeral(text, [section(text)])


def too_big() -> dict[str, Any]:
    """The answer when a rendered answer would break Slack's limits (a bug, and logged): never silence."""
    text = "Sorry, my answer came out too big for Slack. Ask for one team: `/oncall <team>`."
    return ephemeral(text, [section(text)])


def usage(team_names: Sequence[str], not_understood: str | None = None) -> dict[str, Any]:
    """The /oncall usage, optionally saying (safely) which words were not understood."""
    said = None if not_understood is None else plain(not_understood, 120)
    payload = help_message(list(team_names), said)
    payload["blocks"] = cap_blocks(payload["blocks"], MESSAGE_BLOCKS, MORE)
    return payload
