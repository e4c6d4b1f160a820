"""The teams file's tables as written: pydantic models whose validators say what is wrong, in words.

``app.oncall_config`` reads the file, explains these models' errors by file, team and field, and turns a
valid file into domain Teams; the ``[teams.rotation]`` table has its own module, ``app.config_rotation``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from app.config_rotation import RotationFile
from app.domain import (
    DEFAULT_ACK_WITHIN,
    DEFAULT_HANDOVER_MIN,
    DEFAULT_REMIND_BEFORE,
    WEEKDAYS,
    HandoverMode,
    HandoverTime,
)
from app.durations import format_duration, parse_duration, parse_duration_or_off
from app.i18n import DEFAULT_LANGUAGE, LANGUAGES
from app.providers.registry import known_kinds

# The shortest history that keeps every handover whole: it shows the week before it (escalations, the
# snapshot at the pager's change up to 3.5 days earlier) and may be posted up to a week late.
MIN_RETENTION_DAYS = 15

_HANDOVER = re.compile(r"^\s*([a-zA-Z]{3,})\s+(\d{1,2}):(\d{2})\s*$")
_HANDOVER_CHOICES = "'shift', 'mon 09:00' (weekly), 'daily 09:00' or 'off'"
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{6,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
# An email, or an Atlassian account id: "557058:<uuid>", or 24 letters and digits for older accounts.
_PERSON_KEY = re.compile(r"^([^@\s]+@[^@\s]+|[0-9]+:[0-9A-Fa-f-]{36}|[0-9A-Za-z]{24})$")


def parse_handover(text: str) -> HandoverTime | HandoverMode:
    """``"shift"``, ``"off"``, ``"daily 09:00"`` or ``"mon 09:00"`` (any weekday prefix, 24-hour clock)."""
    word = text.strip().lower() if isinstance(text, str) else ""
    if word in ("shift", "off"):
        return "shift" if word == "shift" else "off"
    match = _HANDOVER.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"expected {_HANDOVER_CHOICES}, got {text!r}")
    word, hour, minute = match.group(1).lower(), int(match.group(2)), int(match.group(3))
    daily = word == "daily"
    if not daily and word[:3] not in WEEKDAYS:
        raise ValueError(f"unknown weekday {match.group(1)!r}: use one of {', '.join(WEEKDAYS)} or daily")
    if hour > 23 or minute > 59:
        raise ValueError(f"{hour:02d}:{minute:02d} is not a time of day")
    return HandoverTime(None if daily else WEEKDAYS.index(word[:3]), hour, minute)


def check_zone(name: str) -> str:
    """Return ``name`` when it is an IANA time zone, else raise ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name like 'Europe/Amsterdam')") from exc
    return name


def check_language(value: Any) -> Any:
    """``value`` lowercased when it is a language the bot speaks, else ValueError naming the choices."""
    if not isinstance(value, str) or value.strip().lower() not in LANGUAGES:
        raise ValueError(f"unknown language {value!r}: use one of {', '.join(map(repr, LANGUAGES))}")
    return value.strip().lower()


def _accepted_by(parse: Callable[[str], object]) -> AfterValidator:
    """Keep a string as written, once ``parse`` accepts it (its ValueError says what is wrong)."""

    def check(value: str) -> str:
        parse(value)
        return value

    return AfterValidator(check)


# The teams file's words that must parse, kept as written: each field says which by its type.
Handover = Annotated[str, _accepted_by(parse_handover)]
Duration = Annotated[str, _accepted_by(parse_duration)]
DurationOrOff = Annotated[str, _accepted_by(parse_duration_or_off)]  # a duration, or "off"
Zone = Annotated[str, AfterValidator(check_zone)]
Language = Annotated[str, BeforeValidator(check_language)]


class TeamFile(BaseModel):
    """One [[teams]] table as written, before it becomes a domain Team."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    # Left out: a team with a [teams.rotation] table is a rotation team, any other an Opsgenie team.
    provider: str | None = None
    schedule: str | None = Field(default=None, min_length=1)
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    routing_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")  # PagerDuty paging
    rotation: RotationFile | None = None
    usergroup: str = Field(min_length=1)
    channel: str
    # "shift" (the default): a handover at each shift change; "mon 09:00" weekly; "daily 09:00"; "off".
    handover: Handover = "shift"
    handover_min: Duration = format_duration(DEFAULT_HANDOVER_MIN)  # shorter stretches: in the digest only
    remind_before: DurationOrOff = format_duration(DEFAULT_REMIND_BEFORE)
    ack_within: DurationOrOff = format_duration(DEFAULT_ACK_WITHIN)
    timezone: Zone | None = None
    escalate: Literal["tag", "page"] = "tag"
    priority: Literal["P1", "P2", "P3", "P4", "P5"] = "P3"
    guests_may_page: bool = False
    # The language of the team's channel posts (and of private answers to readers whose Slack locale
    # the bot does not speak); unset: the file's top-level language.
    language: Language | None = None

    @field_validator("provider")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        if value is None:
            return None
        kinds = known_kinds()  # the registry decides which pagers exist
        if value.lower() not in kinds:
            raise ValueError(f"unknown provider {value!r}: use one of {', '.join(kinds)}")
        return value.lower()

    @model_validator(mode="after")
    def _kind(self) -> TeamFile:
        self.provider = self.provider or ("rotation" if self.rotation is not None else "opsgenie")
        if self.provider == "rotation":
            if self.rotation is None:
                raise ValueError("provider 'rotation' needs a [teams.rotation] table (people, shift, start)")
            if self.schedule is not None:
                raise ValueError("field 'schedule': a rotation team has no pager schedule; remove it")
            if self.api_key_env is not None:
                raise ValueError("field 'api_key_env': a rotation team needs no pager key; remove it")
        elif self.rotation is not None:
            raise ValueError(
                "field 'rotation': a [teams.rotation] table needs provider = 'rotation', "
                f"not {self.provider!r}"
            )
        elif self.schedule is None:
            raise ValueError("field 'schedule': missing (required unless provider = 'rotation')")
        if self.routing_key_env is not None and self.provider != "pagerduty":
            raise ValueError(
                "field 'routing_key_env': only a PagerDuty team pages through a routing key; remove it"
            )
        return self

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not _CHANNEL_ID.match(value):
            raise ValueError(f"{value!r} is not a channel ID: use the C… ID from the channel's details")
        return value

    @field_validator("usergroup")
    @classmethod
    def _usergroup(cls, value: str) -> str:
        value = value.removeprefix("@")
        if not value or " " in value:
            raise ValueError("expected a usergroup handle like 'data-oncall' or its S… ID")
        return value


class OncallFile(BaseModel):
    """The whole teams file as written: defaults, the teams and [people]."""

    model_config = ConfigDict(extra="forbid")

    timezone: Zone = "UTC"
    refresh_minutes: int = Field(default=5, ge=1, le=1440)
    handover_grace_hours: float = Field(default=12, ge=0, le=168)
    pages_per_user_per_hour: int = Field(default=3, ge=0, le=1000)
    retention_days: int = Field(default=30, ge=MIN_RETENTION_DAYS, le=3650)
    teams: list[TeamFile] = Field(min_length=1)
    people: dict[str, str] = Field(default_factory=dict)
    # Every team's language unless it sets its own, and the language of views that span teams.
    language: Language = DEFAULT_LANGUAGE

    @field_validator("people")
    @classmethod
    def _people(cls, value: dict[str, str]) -> dict[str, str]:
        # A key is a pager identity: an email, or (JSM) the Atlassian account id of someone whose email
        # Jira hides, e.g. "557058:f1a2b3c4-…". Both are matched lowercased, as the pagers' answers are.
        for key, user_id in value.items():
            if not _PERSON_KEY.match(key.strip()):
                raise ValueError(
                    f"{key!r} is neither an email nor an Atlassian account id (like 557058:f1a2b3c4-…)"
                )
            if not _USER_ID.match(user_id):
                raise ValueError(f"{key!r} maps to {user_id!r}, which is not a Slack user ID (U…)")
        return {key.strip().lower(): user_id for key, user_id in value.items()}
