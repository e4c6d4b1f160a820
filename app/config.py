"""Configuration: secrets and endpoints from the environment, teams from a TOML file, validated."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from app import redaction
from app.config_rotation import RotationFile
from app.domain import WEEKDAYS, HandoverTime, Team
from app.durations import parse_duration, parse_duration_or_off
from app.i18n import DEFAULT_LANGUAGE, LANGUAGES
from app.providers.registry import known_kinds

__all__ = ["parse_duration", "parse_duration_or_off"]  # one duration syntax for every setting


DEFAULT_DATABASE_URL = "sqlite:///oncall.db"
# The shortest history that keeps every handover whole: it shows the week before it (escalations, the
# snapshot at the pager's change up to 3.5 days earlier) and may be posted up to a week late.
MIN_RETENTION_DAYS = 15


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, the team and the field."""


class StartupError(Exception):
    """The bot cannot start (bad token, no database); ``str()`` says why and what to do."""


class Settings(BaseSettings):
    """Secrets and endpoints, read from the environment and an optional ``.env`` file."""

    # hide_input_in_errors: a ValidationError's text would otherwise quote the token it refused.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    slack_bot_token: SecretStr
    slack_app_token: SecretStr
    slack_api_url: str = "https://slack.com/api/"
    # Pager credentials are optional here: the provider registry requires them only for a provider some
    # team uses (app.providers.registry.check_credentials), so a rotation-only bot needs no pager key.
    opsgenie_api_key: SecretStr | None = None
    opsgenie_api_url: str = "https://api.opsgenie.com"
    opsgenie_web_url: str | None = None  # e.g. https://acme.app.opsgenie.com: alert links for people
    pagerduty_api_token: SecretStr | None = None  # a REST API key (read-only is enough)
    pagerduty_api_url: str = "https://api.pagerduty.com"  # EU service region: https://api.eu.pagerduty.com
    pagerduty_routing_key: SecretStr | None = None  # an Events API v2 integration key, for paging
    pagerduty_events_url: str = "https://events.pagerduty.com"  # EU: https://events.eu.pagerduty.com
    # Jira Service Management Operations: a real Atlassian account (service accounts are refused).
    jsm_site_url: str | None = None  # https://yourcompany.atlassian.net
    jsm_email: str | None = None
    jsm_api_token: SecretStr | None = None
    jsm_cloud_id: str | None = None  # unset: read once from {JSM_SITE_URL}/_edge/tenant_info
    jsm_api_url: str = "https://api.atlassian.com"
    jsm_integration_key: SecretStr | None = None  # an API integration's key: pages through it instead
    database_url: str = DEFAULT_DATABASE_URL
    oncall_config: Path = Path("oncall.toml")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line, for a log pipeline
    # host:port of /healthz, /readyz and /metrics (e.g. 0.0.0.0:8080); unset: no HTTP server at all.
    health_addr: str | None = None
    # How long a process holds shared work (an escalation) without renewing it: a killed process's work
    # is taken over this long after its last heartbeat (renewed every third of it).
    lease_seconds: int = Field(default=30, ge=3, le=600)

    @field_validator(
        "slack_bot_token",
        "slack_app_token",
        "opsgenie_api_key",
        "pagerduty_api_token",
        "pagerduty_routing_key",
        "jsm_api_token",
        "jsm_integration_key",
        mode="before",
    )
    @classmethod
    def _clean_secret(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return clean_secret(value) if isinstance(value, str) else value

    @field_validator(
        "slack_api_url",
        "opsgenie_api_url",
        "opsgenie_web_url",
        "pagerduty_api_url",
        "pagerduty_events_url",
        "jsm_site_url",
        "jsm_api_url",
        "database_url",
        mode="before",
    )
    @classmethod
    def _clean_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            redaction.register_url(value)  # a password in the URL is a secret like any other
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_kind(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb- (OAuth & Permissions page)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_kind(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp- (scope connections:write)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("health_addr")
    @classmethod
    def _health_addr(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        split_addr(value)
        return value.strip()

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    def secret(self, variable: str) -> SecretStr | None:
        """The value of a team-scoped secret's env var (``api_key_env``), from the environment or .env."""
        value = os.environ.get(variable)
        if value is None:
            env_file = self.model_config.get("env_file")
            if isinstance(env_file, str) and Path(env_file).is_file():
                value = dotenv_values(env_file).get(variable)
        if not value:
            return None
        try:
            return SecretStr(clean_secret(value))
        except ValueError as problem:
            raise ConfigError(f"environment variable {variable}: {problem}") from None


def clean_secret(value: str) -> str:
    """``value`` without surrounding whitespace, registered for redaction; ValueError when still broken."""
    # `echo key | base64` into a Kubernetes Secret leaves a trailing newline: strip it, then refuse what
    # is still not a token, never quoting it. Registered first, so that nothing can echo it after.
    value = value.strip()
    redaction.register(value)
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ValueError("has a space, line break or control character inside it: copy it again")
    return value


def split_addr(addr: str) -> tuple[str, int]:
    """``host:port`` (``:8080`` means every interface) as (host, port); ValueError when malformed."""
    host, sep, port = addr.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected host:port like 0.0.0.0:8080, got {addr!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


_HANDOVER = re.compile(r"^\s*([a-zA-Z]{3})[a-zA-Z]*\s+(\d{1,2}):(\d{2})\s*$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{6,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
# An email, or an Atlassian account id: "557058:<uuid>", or 24 letters and digits for older accounts.
_PERSON_KEY = re.compile(r"^([^@\s]+@[^@\s]+|[0-9]+:[0-9A-Fa-f-]{36}|[0-9A-Za-z]{24})$")


def parse_handover(text: str) -> HandoverTime:
    """Parse ``"mon 09:00"`` (any weekday prefix, 24-hour clock) into a HandoverTime."""
    match = _HANDOVER.match(text)
    if not match:
        raise ValueError(f"expected a weekday and a 24-hour time like 'mon 09:00', got {text!r}")
    day, hour, minute = match.group(1).lower(), int(match.group(2)), int(match.group(3))
    if day not in WEEKDAYS:
        raise ValueError(f"unknown weekday {match.group(1)!r}: use one of {', '.join(WEEKDAYS)}")
    if hour > 23 or minute > 59:
        raise ValueError(f"{hour:02d}:{minute:02d} is not a time of day")
    return HandoverTime(WEEKDAYS.index(day), hour, minute)


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


class _TeamFile(BaseModel):
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
    handover: str = "mon 09:00"
    timezone: str | None = None
    escalate: Literal["tag", "page"] = "tag"
    priority: Literal["P1", "P2", "P3", "P4", "P5"] = "P3"
    guests_may_page: bool = False
    # The language of the team's channel posts (and of private answers to readers whose Slack locale
    # the bot does not speak); unset: the file's top-level language.
    language: str | None = None

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        return None if value is None else check_language(value)

    @field_validator("handover")
    @classmethod
    def _handover(cls, value: str) -> str:
        parse_handover(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else check_zone(value)

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
    def _kind(self) -> _TeamFile:
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


class _OncallFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = "UTC"
    refresh_minutes: int = Field(default=5, ge=1, le=1440)
    handover_grace_hours: float = Field(default=12, ge=0, le=168)
    pages_per_user_per_hour: int = Field(default=3, ge=0, le=1000)
    retention_days: int = Field(default=30, ge=MIN_RETENTION_DAYS, le=3650)
    teams: list[_TeamFile] = Field(min_length=1)
    people: dict[str, str] = Field(default_factory=dict)
    # Every team's language unless it sets its own, and the language of views that span teams.
    language: str = DEFAULT_LANGUAGE

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        return check_language(value)

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


@dataclass(frozen=True)
class OncallConfig:
    """The validated teams file."""

    path: Path
    timezone: str
    refresh_minutes: int
    handover_grace_hours: float
    pages_per_user_per_hour: int
    teams: tuple[Team, ...]
    people: dict[str, str] = field(default_factory=dict)
    retention_days: int = 30  # history older than this is pruned (services/retention.py)
    language: str = DEFAULT_LANGUAGE  # the top-level default: views that span teams

    def team(self, name: str) -> Team | None:
        """The team called ``name`` (case-insensitive), or None."""
        wanted = name.strip().lower()
        return next((t for t in self.teams if t.name.lower() == wanted), None)

    def team_for_channel(self, channel_id: str) -> Team | None:
        """The team whose channel is ``channel_id``, or None."""
        return next((t for t in self.teams if t.channel == channel_id), None)

    def team_language(self, name: str) -> str:
        """The language of team ``name``'s posts (the top-level default for a team no longer configured)."""
        team = self.team(name)
        return team.language if team is not None else self.language

    def channel_language(self, channel_id: str) -> str:
        """The language of a post in ``channel_id``: its team's, else the top-level default."""
        team = self.team_for_channel(channel_id)
        return team.language if team is not None else self.language


def _where(path: Path, data: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """Name the place of a validation error: file, team and field."""
    if len(loc) >= 2 and loc[0] == "teams" and isinstance(loc[1], int):
        index = loc[1]
        teams = data.get("teams")
        name = None
        if isinstance(teams, list) and index < len(teams) and isinstance(teams[index], dict):
            name = teams[index].get("name")
        team = f"team {name!r}" if isinstance(name, str) else f"team #{index + 1}"
        rest = ".".join(str(part) for part in loc[2:])
        return f"{path}: {team}" + (f", field '{rest}'" if rest else "")
    return f"{path}: field '{'.'.join(str(part) for part in loc)}'"


def _explain(path: Path, data: dict[str, Any], error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling)"
        elif item["type"] == "missing":
            message = "missing (this field is required)"
        lines.append(f"{_where(path, data, tuple(item['loc']))}: {message}")
    return "\n".join(lines)


def _duplicates(path: Path, teams: list[_TeamFile]) -> None:
    for attribute in ("name", "usergroup"):
        seen: dict[str, str] = {}
        for team in teams:
            key = getattr(team, attribute).lower()
            if key in seen:
                raise ConfigError(
                    f"{path}: team {team.name!r}, field '{attribute}': {getattr(team, attribute)!r} "
                    f"is already used by team {seen[key]!r}; each team needs its own {attribute}"
                )
            seen[key] = team.name


def parse_oncall_config(text: str, path: Path) -> OncallConfig:
    """Validate the text of a teams file; raise ConfigError with a clear message when it is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        parsed = _OncallFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(path, data, exc)) from None
    _duplicates(path, parsed.teams)
    teams = tuple(
        Team(
            name=t.name,
            # A rotation team's "schedule" is its own rotation: the team's name stands for it.
            schedule=t.schedule or t.name,
            usergroup=t.usergroup,
            channel=t.channel,
            handover=parse_handover(t.handover),
            timezone=t.timezone or parsed.timezone,
            escalate=t.escalate,
            priority=t.priority,
            provider=t.provider or "opsgenie",
            api_key_env=t.api_key_env,
            routing_key_env=t.routing_key_env,
            rotation=t.rotation.spec() if t.rotation is not None else None,
            guests_may_page=t.guests_may_page,
            language=t.language or parsed.language,
        )
        for t in parsed.teams
    )
    return OncallConfig(
        path=path,
        timezone=parsed.timezone,
        refresh_minutes=parsed.refresh_minutes,
        handover_grace_hours=parsed.handover_grace_hours,
        pages_per_user_per_hour=parsed.pages_per_user_per_hour,
        teams=teams,
        people=parsed.people,
        retention_days=parsed.retention_days,
        language=parsed.language,
    )


def load_oncall_config(path: Path) -> OncallConfig:
    """Read and validate the teams file at ``path``."""
    try:
        # utf-8-sig: a teams file saved by an editor that writes a byte order mark reads like any other.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: file not found (copy oncall.example.toml to {path}, or set ONCALL_CONFIG)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    return parse_oncall_config(text, path)


def load_settings(**overrides: Any) -> Settings:
    """Read Settings from the environment; raise ConfigError naming the variable when one is wrong."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for item in exc.errors():
            variable = str(item["loc"][0]).upper() if item["loc"] else "environment"
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "missing":
                message = "is not set (put it in the environment or in .env)"
            lines.append(f"environment variable {variable}: {message}")
        raise ConfigError("\n".join(lines)) from None
