"""Pure renderers for /oncall answers and the App Home: view values in, Block Kit payloads out."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.i18n import EN, N_, Translator
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
    more_names,
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
    "not_found": N_("no Slack account"),
    "deleted": N_("deactivated in Slack"),
    "bot": N_("a bot"),
    "no_email": N_("email hidden in the pager: map the id under [people]"),
}
UNKNOWN_SHOWN = 10  # teams named in a "not known yet" line before "and N more"
MORE = N_("More teams than fit here: ask `/oncall <team>` for one team.")
ONE_TEAM = N_("ask `/oncall <team>` for one team")
# In a week's answer a team's heading is the only line starting with "*", a shift's the only one with a
# bullet: what was cut is counted by them, in any language.
BULLET = "• "


def more_teams(count: int, hint: str = ONE_TEAM, t: Translator = EN) -> str:
    """The pointer under a list of teams that was cut: how many are missing and where to look."""
    return t.ngettext("… and {n} more team: {hint}.", "… and {n} more teams: {hint}.", count, hint=t(hint))


# ---- words for times, people and freshness ---------------------------------------------------------


def zone_abbreviation(local: datetime) -> str:
    """The zone's abbreviation at that instant (CET/CEST, PST/PDT); numeric ones read as UTC+04."""
    name = local.tzname() or ""
    return name if name[:1].isalpha() else f"UTC{name}"


def clock(at: datetime, zone: str, now: datetime, t: Translator = EN) -> str:
    """``11:35 CET`` on the same local day as ``now``, else ``Mon 2 Dec 11:35 CET``."""
    local, today = at.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone))
    shown = t.time(local) if local.date() == today.date() else t.day_time(local)
    return f"{shown} {zone_abbreviation(local)}"


def moment(at: datetime, zone: str, now: datetime, t: Translator = EN) -> str:
    """A moment with its day named: ``today 09:00 CET``, ``tomorrow 09:00 CET``, ``Mon 9 Dec 09:00 CET``."""
    local, today = at.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone))
    days = (local.date() - today.date()).days
    time, abbreviation = t.time(local), zone_abbreviation(local)
    if days == 0:
        return t("today {time} {zone}", time=time, zone=abbreviation)
    if days == 1:
        return t("tomorrow {time} {zone}", time=time, zone=abbreviation)
    return f"{t.day_time(local)} {abbreviation}"


def freshness_line(fresh: Freshness, zone: str, now: datetime, source: str, t: Translator = EN) -> str:
    """How old the answer is, said plainly; never pretends that missing data means nobody."""
    source = t(source)  # a pager's name stays; "the rotation" and "the pager" are message ids
    if fresh.failing_since is not None:
        since = clock(fresh.failing_since, zone, now, t)
        if fresh.as_of is None:
            return t(":warning: {source} unreachable since {since} — no data yet", source=source, since=since)
        shown = clock(fresh.as_of, zone, now, t)
        return t(
            ":warning: {source} unreachable since {since} — showing data from {shown}",
            source=source,
            since=since,
            shown=shown,
        )
    if fresh.as_of is None:
        return t(":hourglass: No data from {source} yet: the first refresh has not finished", source=source)
    line = t("as of {when}, {ago}", when=clock(fresh.as_of, zone, now, t), ago=ago(now - fresh.as_of, t))
    if fresh.stale:
        return t(":warning: {line} — older than expected: is the bot's refresh running?", line=line)
    return line


def person(who: Person, t: Translator = EN) -> str:
    """A mention when the person maps to a Slack user (ephemeral: it notifies nobody), else a name."""
    if who.mentionable and who.slack_user_id and _USER_ID.match(who.slack_user_id):
        return f"<@{who.slack_user_id}>"
    label = escape(plain(who.name or who.pager_id, NAME_LIMIT))
    note = _STATUS_NOTES.get(who.status)
    return t("{name} ({note})", name=label, note=t(note)) if note else label


def people(who: Sequence[Person] | None, t: Translator = EN) -> str:
    """A list of people; an empty one is a real answer from the pager (a gap), not missing data."""
    if who is None:
        return t("_not known yet_")
    if not who:
        return t("_nobody_ (the schedule has a gap)")
    return fit_names([person(p, t) for p in who], PEOPLE_CHARS, sep=t(", "), more=more_names(t))


def on_call_now(team: TeamNow, t: Translator = EN) -> str:
    """Who is on call now: per layer (``primary: @a · secondary: @b``) when the schedule has several."""
    if not team.layers:
        return people(team.people, t)
    return t(" · ").join(
        t("{layer}: {people}", layer=escape(name), people=people(who, t)) for name, who in team.layers
    )


def zone_line(zone: UserZone, t: Translator = EN) -> str:
    """Which zone the times are in, and why."""
    if zone.known:
        return t("Times in {zone}, your Slack time zone.", zone=escape(zone.name))
    return t("Times in {zone}: I do not know your Slack time zone yet.", zone=escape(zone.name))


def shift_span(shift: ShiftView, zone: str, now: datetime, t: Translator = EN) -> str:
    """``Mon 2 Dec 09:00 CET → Mon 9 Dec 09:00 CET``."""
    return f"{moment(shift.start, zone, now, t)} → {moment(shift.end, zone, now, t)}"


def _answer(
    fallback: str,
    lines: list[str],
    notes: list[str],
    zone: UserZone,
    more: Callable[[list[str]], str],
    t: Translator,
) -> dict[str, Any]:
    """Whole lines up to ANSWER_CHARS (a wall of text helps nobody), then ``more(left out)`` as a pointer."""
    tail = [*(context(n) for n in notes), context(zone_line(zone, t))]
    sections = fit_lines(lines, max_chars=ANSWER_CHARS, max_blocks=MESSAGE_BLOCKS - len(tail), more=more)
    return ephemeral(truncate(fallback, FALLBACK_LIMIT), [*sections, *tail])


def _teams_left(t: Translator) -> Callable[[list[str]], str]:
    """One line per team was left out."""
    return lambda left: more_teams(len(left), t=t)


def _shifts_left(t: Translator) -> Callable[[list[str]], str]:
    """Team headings and shift lines were left out of a week's answer."""

    def pointer(left: list[str]) -> str:
        teams = sum(1 for line in left if line.startswith("*"))
        shifts = t.ngettext("{n} more shift", "{n} more shifts", sum(1 for x in left if x.startswith(BULLET)))
        if teams:
            counted = t.ngettext(
                "{n} more team ({shifts})", "{n} more teams ({shifts})", teams, shifts=shifts
            )
            return t("… and {counted}: ask `/oncall week <team>` for one team.", counted=counted)
        return t("… and {shifts} in the next 7 days: the pager's schedule has them all.", shifts=shifts)

    return pointer


def _mine_left(t: Translator) -> Callable[[list[str]], str]:
    def pointer(left: list[str]) -> str:
        shifts = sum(1 for line in left if line.startswith(BULLET)) or len(left)
        counted = t.ngettext("{n} more shift", "{n} more shifts", shifts)
        return t("… and {shifts}: the pager's schedules have them all.", shifts=counted)

    return pointer


# ---- /oncall answers ---------------------------------------------------------------------------------


def now_answer(
    teams: Sequence[TeamNow], zone: UserZone, now: datetime, source: str, t: Translator = EN
) -> dict[str, Any]:
    """Who is on call now: one team in full, several teams one line each."""
    z = zone.name
    if len(teams) == 1:
        team = teams[0]
        name, who = escape(team.team.name), on_call_now(team, t)
        until = ""
        if team.until and team.people:
            until = "\n" + t("until {when}", when=moment(team.until, z, now, t))
        return _answer(
            t("On call for {team} now: {people}", team=name, people=who),
            [t("*On call for {team} now:* {people}", team=name, people=who) + until],
            [freshness_line(team.freshness, z, now, source, t)],
            zone,
            _teams_left(t),
            t,
        )
    lines = [t("*On call now*")]
    for team in teams:
        until = ""
        if team.until and team.people:
            until = " · " + t("until {when}", when=moment(team.until, z, now, t))
        fresh = freshness_line(team.freshness, z, now, source, t)
        lines.append(f"*{escape(team.team.name)}*: {on_call_now(team, t)}{until} · _{fresh}_")
    said = t("; ").join(f"{escape(x.team.name)}: {on_call_now(x, t)}" for x in teams)
    return _answer(t("On call now — {teams}", teams=said), lines, [], zone, _teams_left(t), t)


def _next_line(team: TeamNext, zone: str, now: datetime, t: Translator) -> str:
    name = escape(team.team.name)
    if team.freshness.as_of is None:
        return t("*{team}*: _no schedule from the pager yet_", team=name)
    if team.at is None:
        current = people(team.current, t)
        if team.known_until:
            return t(
                "*{team}*: no handover in the schedule I have (the schedule I have ends {until}); "
                "on call now: {current}",
                team=name,
                until=moment(team.known_until, zone, now, t),
                current=current,
            )
        return t(
            "*{team}*: no handover in the schedule I have; on call now: {current}", team=name, current=current
        )
    return t(
        "*{team}*: {incoming} from {when} (now: {current})",
        team=name,
        incoming=people(team.incoming, t),
        when=moment(team.at, zone, now, t),
        current=people(team.current, t),
    )


def _next_said(team: TeamNext, t: Translator) -> str:
    """A team's next handover in the plain-text fallback."""
    if team.freshness.as_of is None:
        return t("not known yet")
    return people(team.incoming, t) if team.at else t("no handover known")


def next_answer(
    teams: Sequence[TeamNext], zone: UserZone, now: datetime, source: str, t: Translator = EN
) -> dict[str, Any]:
    """Who takes over next, and when the handover is."""
    z = zone.name
    if len(teams) == 1:
        lines, notes = (
            [t("*Next on call*"), _next_line(teams[0], z, now, t)],
            [freshness_line(teams[0].freshness, z, now, source, t)],
        )
    else:
        lines, notes = [t("*Next on call*")], []
        lines += [
            f"{_next_line(x, z, now, t)} · _{freshness_line(x.freshness, z, now, source, t)}_" for x in teams
        ]
    said = t("; ").join(f"{escape(x.team.name)}: {_next_said(x, t)}" for x in teams)
    return _answer(t("Next on call — {teams}", teams=said), lines, notes, zone, _teams_left(t), t)


def _week_said(week: TeamWeek, t: Translator) -> str:
    """A team's week in the plain-text fallback: missing data is "not known yet", never "nobody"."""
    if week.freshness.as_of is None:
        return t("not known yet")
    return t(", ").join(person(s.person, t) for s in week.shifts) or t("nobody scheduled")


def week_answer(
    weeks: Sequence[TeamWeek], zone: UserZone, now: datetime, source: str, t: Translator = EN
) -> dict[str, Any]:
    """The shifts of the next seven days, per team."""
    z = zone.name
    lines: list[str] = []
    for week in weeks:
        fresh = freshness_line(week.freshness, z, now, source, t)
        heading = t("*{team} — the next 7 days*", team=escape(week.team.name))
        lines.append(f"{heading} · _{fresh}_")
        if week.freshness.as_of is not None and not week.shifts:
            lines.append(t("_nobody is scheduled in the next 7 days_"))
        lines += [f"{BULLET}{person(s.person, t)}: {shift_span(s, z, now, t)}" for s in week.shifts]
        if week.known_until is not None and week.known_until < now + timedelta(days=7):
            lines.append(
                t("_nothing in the schedule I have after {when}_", when=moment(week.known_until, z, now, t))
            )
    said = t("; ").join(f"{escape(w.team.name)}: {_week_said(w, t)}" for w in weeks)
    return _answer(t("On call this week — {teams}", teams=said), lines, [], zone, _shifts_left(t), t)


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
    return _answer(" ".join(lines).replace("*", ""), lines, notes, zone, _mine_left(t), t)


def unknown_team(
    word: str, suggestions: Sequence[str], team_names: Sequence[str], t: Translator = EN
) -> dict[str, Any]:
    """A near miss: "did you mean …" with the teams and subcommands that are close."""
    shown = escape(plain(word, NAME_LIMIT))
    if not suggestions:
        return usage(team_names, word, t)
    options = t(" or ").join(f"`{escape(s)}`" for s in suggestions)
    lines = [t("I do not know `{word}`. Did you mean {options}?", word=shown, options=options)]
    blocks = [
        *fit_sections(lines),
        context(teams_line(team_names, t) if team_names else t("No teams are configured.")),
    ]
    said = t(" or ").join(escape(s) for s in suggestions)
    fallback = t("I do not know {word}. Did you mean {options}?", word=shown, options=said)
    return ephemeral(fallback, cap_blocks(blocks, MESSAGE_BLOCKS, t(MORE)))


def cache_unreadable(t: Translator = EN) -> dict[str, Any]:
    """The answer when the cache cannot be read or an answer not built from it (the error is logged)."""
    text = t("Sorry, I cannot read my on-call cache right now. Please try again in a minute.")
    return ephemeral(text, [section(text)])


def too_big(t: Translator = EN) -> dict[str, Any]:
    """The answer when a rendered answer would break Slack's limits (a bug, and logged): never silence."""
    text = t("Sorry, my answer came out too big for Slack. Ask for one team: `/oncall <team>`.")
    return ephemeral(text, [section(text)])


def usage(team_names: Sequence[str], not_understood: str | None = None, t: Translator = EN) -> dict[str, Any]:
    """The /oncall usage, optionally saying (safely) which words were not understood."""
    said = None if not_understood is None else plain(not_understood, 120)
    payload = help_message(list(team_names), said, t)
    payload["blocks"] = cap_blocks(payload["blocks"], MESSAGE_BLOCKS, t(MORE))
    return payload
