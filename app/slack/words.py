"""How the bot writes times, mentions and on-call people in Slack: one place for every renderer.

Times are shown in a zone with its abbreviation (``11:35 CET``, ``today 09:00 CET``, ``Mon 6 Apr 09:00``,
``Mon 11:40 CET``); a person is a mention only when their Slack id is well formed, anything else is
escaped so that it can never ping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from app.i18n import EN, N_, Translator
from app.model.oncall import Person, ShiftView, TeamNow
from app.slack.blocks import escape, more_names, plain
from app.slack.limits import fit_names

NAME_LIMIT = 80
PEOPLE_CHARS = 1_000  # one list of people in one line; the rest are counted
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
STATUS_NOTES = {
    "not_found": N_("no Slack account"),
    "deleted": N_("deactivated in Slack"),
    "bot": N_("a bot"),
    "no_email": N_("email hidden in the pager: map the id under [people]"),
}


def mention(user_id: str | None, t: Translator = EN) -> str:
    """``<@U…>`` for a well-formed Slack user id; anything else is escaped so it cannot ping."""
    if user_id and SLACK_USER.match(user_id):
        return f"<@{user_id}>"
    return escape(user_id or t("someone"))


def when(moment: datetime, zone: str, t: Translator = EN) -> str:
    """``Mon 6 Apr 09:00`` in ``zone`` (``4月6日(月) 9:00``)."""
    return t.day_time(moment.astimezone(ZoneInfo(zone)))


def local_time(at: datetime, zone: str, t: Translator = EN) -> str:
    """``at`` as weekday and HH:MM with the zone's abbreviation, e.g. 'Mon 11:40 CET'."""
    local = at.astimezone(ZoneInfo(zone))
    return f"{t.weekday_time(local)} {local.tzname()}"


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


def person(who: Person, t: Translator = EN) -> str:
    """A mention when the person maps to a Slack user (ephemeral: it notifies nobody), else a name."""
    if who.mentionable and who.slack_user_id and SLACK_USER.match(who.slack_user_id):
        return f"<@{who.slack_user_id}>"
    label = escape(plain(who.name or who.pager_id, NAME_LIMIT))
    note = STATUS_NOTES.get(who.status)
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


def shift_span(shift: ShiftView, zone: str, now: datetime, t: Translator = EN) -> str:
    """``Mon 2 Dec 09:00 CET → Mon 9 Dec 09:00 CET``."""
    return f"{moment(shift.start, zone, now, t)} → {moment(shift.end, zone, now, t)}"
