"""Pure renderers for /oncall answers and the App Home: view values in, Block Kit payloads out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from app.i18n import EN, N_, Translator
from app.model.oncall import (
    Freshness,
    TeamNext,
    TeamNow,
    TeamWeek,
    UserZone,
)
from app.slack.blocks import (
    MESSAGE_BLOCKS,
    ago,
    context,
    ephemeral,
    escape,
)
from app.slack.limits import fit_lines, truncate
from app.slack.words import clock, moment, on_call_now, people, person, shift_span

FALLBACK_LIMIT = 500
ANSWER_CHARS = 12_000
MORE = N_("More teams than fit here: ask `/oncall <team>` for one team.")
ONE_TEAM = N_("ask `/oncall <team>` for one team")
# In a week's answer a team's heading is the only line starting with "*", a shift's the only one with a
# bullet: what was cut is counted by them, in any language.
BULLET = "• "


def more_teams(count: int, hint: str = ONE_TEAM, t: Translator = EN) -> str:
    """The pointer under a list of teams that was cut: how many are missing and where to look."""
    return t.ngettext("… and {n} more team: {hint}.", "… and {n} more teams: {hint}.", count, hint=t(hint))


# ---- words for freshness and zones ----------------------------------------------------------------


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


def zone_line(zone: UserZone, t: Translator = EN) -> str:
    """Which zone the times are in, and why."""
    if zone.known:
        return t("Times in {zone}, your Slack time zone.", zone=escape(zone.name))
    return t("Times in {zone}: I do not know your Slack time zone yet.", zone=escape(zone.name))


def answer(
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
        return answer(
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
    return answer(t("On call now — {teams}", teams=said), lines, [], zone, _teams_left(t), t)


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
    return answer(t("Next on call — {teams}", teams=said), lines, notes, zone, _teams_left(t), t)


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
    return answer(t("On call this week — {teams}", teams=said), lines, [], zone, _shifts_left(t), t)
