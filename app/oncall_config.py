"""The teams file: read, validated (errors named by file, team and field) and turned into OncallConfig."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.config import ConfigError
from app.config_teams import OncallFile, TeamFile, parse_handover
from app.domain import Team
from app.durations import parse_duration, parse_duration_or_off
from app.i18n import DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
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


def _duplicates(path: Path, teams: list[TeamFile]) -> None:
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
        parsed = OncallFile.model_validate(data)
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
            handover_min=parse_duration(t.handover_min),
            remind_before=parse_duration_or_off(t.remind_before),
            ack_within=parse_duration_or_off(t.ack_within),
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
