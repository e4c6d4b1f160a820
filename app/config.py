"""Configuration from the environment: secrets and endpoints (Settings), validated, with clear errors.

The teams file is read by ``app.oncall_config`` (its tables' shapes: ``app.config_teams``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app import redaction
from app.durations import parse_duration, parse_duration_or_off

__all__ = ["parse_duration", "parse_duration_or_off"]  # one duration syntax for every setting


DEFAULT_DATABASE_URL = "sqlite:///oncall.db"


def _cleaned_secret(value: Any) -> Any:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return clean_secret(value) if isinstance(value, str) else value


def _cleaned_url(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        redaction.register_url(value)  # a password in the URL is a secret like any other
    return value


def _starting(prefix: str, kind: str, where: str) -> AfterValidator:
    """A token that must start with ``prefix``: refused otherwise, saying which ``kind`` it must be."""

    def check(value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(prefix):
            raise ValueError(f"must be {kind} starting with {prefix} ({where})")
        return value

    return AfterValidator(check)


# A setting that is a secret (stripped, registered for redaction, refused when broken) or a URL (stripped,
# any password in it registered): each field says which by its type.
Secret = Annotated[SecretStr, BeforeValidator(_cleaned_secret)]
Url = Annotated[str, BeforeValidator(_cleaned_url)]


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

    slack_bot_token: Annotated[Secret, _starting("xoxb-", "a bot token", "OAuth & Permissions page")]
    slack_app_token: Annotated[Secret, _starting("xapp-", "an app-level token", "scope connections:write")]
    slack_api_url: Url = "https://slack.com/api/"
    # Pager credentials are optional here: the provider registry requires them only for a provider some
    # team uses (app.providers.registry.check_credentials), so a rotation-only bot needs no pager key.
    opsgenie_api_key: Secret | None = None
    opsgenie_api_url: Url = "https://api.opsgenie.com"
    opsgenie_web_url: Url | None = None  # e.g. https://acme.app.opsgenie.com: alert links for people
    pagerduty_api_token: Secret | None = None  # a REST API key (read-only is enough)
    pagerduty_api_url: Url = "https://api.pagerduty.com"  # EU service region: https://api.eu.pagerduty.com
    pagerduty_routing_key: Secret | None = None  # an Events API v2 integration key, for paging
    pagerduty_events_url: Url = "https://events.pagerduty.com"  # EU: https://events.eu.pagerduty.com
    # Jira Service Management Operations: a real Atlassian account (service accounts are refused).
    jsm_site_url: Url | None = None  # https://yourcompany.atlassian.net
    jsm_email: str | None = None
    jsm_api_token: Secret | None = None
    jsm_cloud_id: str | None = None  # unset: read once from {JSM_SITE_URL}/_edge/tenant_info
    jsm_api_url: Url = "https://api.atlassian.com"
    jsm_integration_key: Secret | None = None  # an API integration's key: pages through it instead
    database_url: Url = DEFAULT_DATABASE_URL
    oncall_config: Path = Path("oncall.toml")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line, for a log pipeline
    # host:port of /healthz, /readyz and /metrics (e.g. 0.0.0.0:8080); unset: no HTTP server at all.
    health_addr: str | None = None
    # How long a process holds shared work (an escalation) without renewing it: a killed process's work
    # is taken over this long after its last heartbeat (renewed every third of it).
    lease_seconds: int = Field(default=30, ge=3, le=600)

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
