"""A small, realistic workspace for the demo and the tests: people, a channel, a usergroup, a rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from app.sandbox import Sandbox
from app.sandbox.jsm import account_id_for
from app.sandbox.opsgenie import Rotation

TEAM_ZONE = "Europe/Amsterdam"
SCHEDULE = "data_team_schedule"
CHANNEL = "C0DATA00001"
OTHER_CHANNEL = "C0RANDOM001"
USERGROUP_ID = "S0DATA00001"
USERGROUP = "data-oncall"

# (Slack id, handle, email, time zone)
PEOPLE = (
    ("U0ALICE0001", "alice", "alice@corp.example", "Europe/Amsterdam"),
    ("U0BOB000001", "bob", "bob@corp.example", "America/New_York"),
    ("U0CAROL0001", "carol", "carol@corp.example", "Asia/Tokyo"),
    ("U0DAVE00001", "dave", "dave@corp.example", "America/Los_Angeles"),
)
ROTATION = ["alice@corp.example", "bob@corp.example", "carol@corp.example"]
# The same turns in the built-in rotation, with bob listed by Slack user id (both forms are allowed).
BUILT_IN = ["alice@corp.example", "U0BOB000001", "carol@corp.example"]
PROVIDERS = ("opsgenie", "pagerduty", "rotation", "jsm")  # what seed() can set the team up with
PAGERDUTY_SCHEDULE_ID = "PDATA01"  # the same schedule in PagerDuty (the team names it by name)
# In JSM, carol hides her email from other Atlassian users: the teams file maps her account id instead.
HIDDEN_EMAIL = "carol@corp.example"
PEOPLE_LINE = f'\n[people]\n"{account_id_for(HIDDEN_EMAIL)}" = "U0CAROL0001"\n'


def last_handover(now: datetime, zone: str = TEAM_ZONE) -> datetime:
    """The most recent Monday 09:00 in ``zone`` at or before ``now``, as UTC-aware."""
    local = now.astimezone(ZoneInfo(zone))
    monday = (local - timedelta(days=local.weekday())).replace(hour=9, minute=0, second=0, microsecond=0)
    if monday > local:
        monday -= timedelta(days=7)
    return monday


@dataclass(frozen=True)
class World:
    """What was seeded, for scenarios and assertions."""

    rotation_start: datetime
    config_text: str


def rotation_toml(start: datetime, *, shift: str = "1w", zone: str = TEAM_ZONE) -> str:
    """The ``[teams.rotation]`` table of the seeded team: alice → bob → carol from ``start``."""
    people = ", ".join(f'"{person}"' for person in BUILT_IN)
    local = start.astimezone(ZoneInfo(zone))
    return f'[teams.rotation]\npeople = [{people}]\nshift = "{shift}"\nstart = "{local:%Y-%m-%d %H:%M}"\n'


def teams_toml(
    extra: str = "",
    *,
    escalate: str = "tag",
    rotation: str = "",
    handover: str = "mon 09:00",
    language: str | None = None,
) -> str:
    """A teams file for the seeded workspace (one team, 'data'); ``rotation`` makes it a rotation team.

    ``language`` sets the file's top-level language (the team's too, as it sets none of its own).
    """
    source = "" if rotation else f'schedule = "{SCHEDULE}"\n'
    spoken = f'language = "{language}"\n' if language else ""
    return f"""\
timezone = "{TEAM_ZONE}"
refresh_minutes = 5
{spoken}
[[teams]]
name = "data"
{source}usergroup = "{USERGROUP}"
channel = "{CHANNEL}"
handover = "{handover}"
escalate = "{escalate}"
{extra}{rotation}"""


def seed(
    sandbox: Sandbox,
    now: datetime,
    *,
    escalate: str = "tag",
    provider: str = "opsgenie",
    handover_at: datetime | None = None,
    language: str | None = None,
) -> World:
    """Fill the sandbox with the demo workspace; the weekly rotation started two handovers ago.

    ``provider`` "rotation" gives the team the same turns as a built-in rotation instead of Opsgenie's;
    "pagerduty" reads them from PagerDuty's copy of the schedule (seeded always, like Opsgenie's), "jsm"
    from JSM's (seeded always too, by the same name, so that an Opsgenie team can move to it).
    ``handover_at`` moves the weekly handover (and the shift changes) from Monday 09:00 to that moment.
    ``language`` "ja": a Japanese team, whose people set Slack to Japanese (locale ja-JP).
    """
    locale = "ja-JP" if language == "ja" else "en-US"
    for user_id, handle, email, zone in PEOPLE:
        sandbox.slack.add_user(
            user_id, name=handle, email=email, real_name=handle.title(), tz=zone, locale=locale
        )
    sandbox.slack.add_user("U0GUEST0001", name="guest", email="guest@partner.example", is_restricted=True)
    sandbox.slack.add_channel(CHANNEL, name="data-team")
    sandbox.slack.add_channel(OTHER_CHANNEL, name="random")
    sandbox.slack.add_usergroup(USERGROUP_ID, handle=USERGROUP, name="Data on-call", users=["U0DAVE00001"])
    anchor = handover_at.replace(second=0, microsecond=0) if handover_at else last_handover(now)
    start = anchor - timedelta(days=14)
    rotation = Rotation(name="weekly", participants=list(ROTATION), start=start, length=timedelta(days=7))
    sandbox.opsgenie.add_schedule(SCHEDULE, timezone=TEAM_ZONE, rotations=[rotation])
    sandbox.pagerduty.add_schedule(
        SCHEDULE, schedule_id=PAGERDUTY_SCHEDULE_ID, time_zone=TEAM_ZONE, layers=[rotation]
    )
    sandbox.jsm.add_schedule(SCHEDULE, timezone=TEAM_ZONE, rotations=[rotation])
    sandbox.jsm.set_email_visible(HIDDEN_EMAIL, False)
    rotation_section = rotation_toml(start) if provider == "rotation" else ""
    local = anchor.astimezone(ZoneInfo(TEAM_ZONE))
    handover = f"{local:%a} {local:%H:%M}".lower()
    extra = f'provider = "{provider}"\n' if provider in ("pagerduty", "jsm") else ""
    text = teams_toml(
        extra, escalate=escalate, rotation=rotation_section, handover=handover, language=language
    )
    return World(rotation_start=start, config_text=text + (PEOPLE_LINE if provider == "jsm" else ""))


def write_config(directory: Path, text: str) -> Path:
    """Write a teams file into ``directory`` and return its path."""
    path = directory / "oncall.toml"
    path.write_text(text, encoding="utf-8")
    return path
