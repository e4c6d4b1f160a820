"""Each built-in pager's credentials, read from the settings and the team, and its client built from them.

A builder takes a ``Tuning`` (timeout, retries, backoff, the longest rate-limit wait) so that `oncall-bot
check` builds the same clients, only quicker to give up. Each builder assigns its class to a ``Provider``
variable: that line is the conformance check, since mypy (strict, in the README's test command) fails when
a class stops satisfying the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.domain import Team
from app.providers import Provider
from app.providers.tuning import DEFAULT_TUNING, Tuning

# Each pager's module (and httpx under it) is imported by its own builder: `run` loads only the pagers its
# teams use (a rotation-only bot loads no HTTP client at all).
if TYPE_CHECKING:
    from pydantic import SecretStr

    from app.config import Settings
    from app.providers.pagerduty import PagerDutyProvider


class MissingCredentials(Exception):
    """A provider some team uses has no credentials; ``str()`` names the env var to set."""


def opsgenie_key(settings: Settings, team: Team) -> tuple[str, str]:
    """The team's Opsgenie key (its own ``api_key_env`` or OPSGENIE_API_KEY) and the env var it came from."""
    variable = team.api_key_env or "OPSGENIE_API_KEY"
    key = settings.secret(variable) if team.api_key_env else settings.opsgenie_api_key
    if key is None or not key.get_secret_value():
        raise MissingCredentials(f"set {variable} to an Opsgenie API key (Settings → API key management)")
    return key.get_secret_value(), variable


def opsgenie_provider(settings: Settings, team: Team, tuning: Tuning = DEFAULT_TUNING) -> Provider:
    """The team's Opsgenie client; ``tuning``: timeouts and retries."""
    from app.providers.opsgenie import OpsgenieProvider  # noqa: PLC0415 - only for a team that uses it

    key, variable = opsgenie_key(settings, team)
    provider: Provider = OpsgenieProvider(
        key,
        base_url=settings.opsgenie_api_url,
        web_url=settings.opsgenie_web_url,
        key_variable=variable,
        tuning=tuning,
    )
    return provider


def _variable_value(settings: Settings, own: str | None, default: SecretStr | None) -> str | None:
    value = settings.secret(own) if own else default
    return value.get_secret_value() if value is not None and value.get_secret_value() else None


def pagerduty_keys(settings: Settings, team: Team) -> tuple[str, str, str | None, str]:
    """The team's PagerDuty token and routing key (None when it does not page) and their env vars."""
    from app.providers.pagerduty import ROUTING_KEY_ENV, TOKEN_ENV  # noqa: PLC0415 - a PagerDuty team's

    token_variable = team.api_key_env or TOKEN_ENV
    token = _variable_value(settings, team.api_key_env, settings.pagerduty_api_token)
    if token is None:
        raise MissingCredentials(
            f"set {token_variable} to a PagerDuty REST API key "
            "(Integrations → API Access Keys; read-only is enough)"
        )
    key_variable = team.routing_key_env or ROUTING_KEY_ENV
    routing_key = _variable_value(settings, team.routing_key_env, settings.pagerduty_routing_key)
    if routing_key is None and team.pages:
        raise MissingCredentials(
            f"set {key_variable} to the Integration Key of an Events API v2 integration "
            "on the service to page (the team has escalate = 'page')"
        )
    return token, token_variable, routing_key, key_variable


def pagerduty_provider(settings: Settings, team: Team, tuning: Tuning = DEFAULT_TUNING) -> PagerDutyProvider:
    """The team's PagerDuty client from its credentials and the URLs; ``tuning``: timeouts and retries."""
    from app.providers.pagerduty import PagerDutyProvider  # noqa: PLC0415 - only for a team that uses it

    token, token_variable, routing_key, key_variable = pagerduty_keys(settings, team)
    return PagerDutyProvider(
        token,
        routing_key=routing_key,
        base_url=settings.pagerduty_api_url,
        events_url=settings.pagerduty_events_url,
        token_env=token_variable,
        routing_key_env=key_variable,
        tuning=tuning,
    )


def rotation_provider(_settings: Settings, team: Team, tuning: Tuning = DEFAULT_TUNING) -> Provider:
    """The team's built-in rotation (no pager to call: nothing to tune)."""
    if team.rotation is None:
        raise MissingCredentials(f"team {team.name!r} has no [teams.rotation] table")
    from app.providers.rotation import RotationProvider  # noqa: PLC0415 - only for a team that uses it

    provider: Provider = RotationProvider(team.rotation, team.timezone)
    return provider


@dataclass(frozen=True, slots=True)
class JsmCredentials:
    """A team's JSM account (site, email, API token and its env var) and the optional integration key."""

    site_url: str
    email: str
    api_token: str
    token_variable: str
    integration_key: str | None


def jsm_credentials(settings: Settings, team: Team) -> JsmCredentials:
    """The team's JSM account; MissingCredentials names every variable still to set."""
    from app.providers.jsm import TOKEN_ENV as JSM_TOKEN_ENV  # noqa: PLC0415 - a JSM team's

    token_variable = team.api_key_env or JSM_TOKEN_ENV
    token = _variable_value(settings, team.api_key_env, settings.jsm_api_token)
    site = (settings.jsm_site_url or "").strip().rstrip("/")
    email = (settings.jsm_email or "").strip()
    missing = [
        name
        for name, value in (("JSM_SITE_URL", site), ("JSM_EMAIL", email), (token_variable, token))
        if not value
    ]
    if missing:
        raise MissingCredentials(
            f"set {', '.join(missing)}: the site (https://yourcompany.atlassian.net), and the email and an "
            "API token (id.atlassian.com → Security → API tokens) of a real Atlassian account that may see "
            "the team's schedule; service accounts cannot call the Operations API"
        )
    assert token is not None
    key = settings.jsm_integration_key
    integration = key.get_secret_value() if key is not None and key.get_secret_value() else None
    return JsmCredentials(site, email, token, token_variable, integration)


def jsm_provider(settings: Settings, team: Team, tuning: Tuning = DEFAULT_TUNING) -> Provider:
    """The team's JSM client from its account and the URLs; ``tuning``: timeouts and retries."""
    from app.providers.jsm import JsmProvider  # noqa: PLC0415 - only for a team that uses it

    found = jsm_credentials(settings, team)
    provider: Provider = JsmProvider(
        found.email,
        found.api_token,
        site_url=found.site_url,
        api_url=settings.jsm_api_url,
        cloud_id=settings.jsm_cloud_id,
        integration_key=found.integration_key,
        tuning=tuning,
    )
    return provider
