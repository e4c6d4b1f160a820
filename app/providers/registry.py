"""The one factory of providers: a team's config section → the Provider that answers for it.

Each ``ProviderKind`` says which credentials identify one client of its pager and how to build one.
``Providers`` builds every team's provider once at start, sharing one client between teams whose kind and
credentials are equal (one connection pool, one rate-limit budget per key), and answers ``for_team``.
A new pager registers one ``ProviderKind`` here (see ``app/providers/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.domain import Team
from app.i18n import N_
from app.providers import Provider
from app.providers.jsm import TOKEN_ENV as JSM_TOKEN_ENV
from app.providers.jsm import JsmProvider
from app.providers.opsgenie import OpsgenieProvider
from app.providers.pagerduty import ROUTING_KEY_ENV, TOKEN_ENV, PagerDutyProvider
from app.providers.rotation import RotationProvider

if TYPE_CHECKING:
    from pydantic import SecretStr

    from app.config import Settings

Credentials = Callable[["Settings", Team], Hashable]
Builder = Callable[["Settings", Team], Provider]


class MissingCredentials(Exception):
    """A provider some team uses has no credentials; ``str()`` names the env var to set."""


@dataclass(frozen=True)
class ProviderKind:
    """One pager: what a team writes as ``provider``, its credentials and its builder.

    ``credentials`` returns what identifies one client (secrets included: it is only compared, never
    shown) or raises MissingCredentials; ``build`` makes the provider for a team.
    """

    kind: str
    credentials: Credentials
    build: Builder


_KINDS: dict[str, ProviderKind] = {}


def register(kind: ProviderKind) -> None:
    """Make ``kind`` available to teams files (``provider = "<kind>"``) and to ``Providers``."""
    _KINDS[kind.kind] = kind


def known_kinds() -> tuple[str, ...]:
    """The provider names a teams file may use, in registration order."""
    return tuple(_KINDS)


def kind_of(name: str) -> ProviderKind:
    """The registered kind called ``name``; KeyError when there is none."""
    return _KINDS[name]


def check_credentials(settings: Settings, teams: Iterable[Team]) -> list[str]:
    """One sentence per team whose provider lacks its credentials (empty when every one has them)."""
    problems: list[str] = []
    for team in teams:
        try:
            _KINDS[team.provider].credentials(settings, team)
        except MissingCredentials as missing:
            problems.append(f"team {team.name!r} (provider {team.provider}): {missing}")
    return problems


class Providers:
    """Each team's provider, built once; teams with equal kind and credentials share one client."""

    def __init__(
        self, settings: Settings, teams: Iterable[Team], *, builders: Mapping[str, Builder] | None = None
    ) -> None:
        """Build every team's provider; ``builders`` replaces a kind's builder (a test's fast client)."""
        custom = dict(builders or {})
        self._by_key: dict[tuple[str, Hashable], Provider] = {}
        self._by_team: dict[str, Provider] = {}
        for team in teams:
            kind = _KINDS[team.provider]
            key = (kind.kind, kind.credentials(settings, team))
            if key not in self._by_key:
                self._by_key[key] = custom.get(kind.kind, kind.build)(settings, team)
            self._by_team[team.name.lower()] = self._by_key[key]

    def for_team(self, team: Team | str) -> Provider:
        """The provider of ``team`` (a Team or its name); KeyError for a team not in the config."""
        return self._by_team[(team if isinstance(team, str) else team.name).lower()]

    def all(self) -> list[Provider]:
        """Every distinct provider, in the order the teams first use them."""
        return list(self._by_key.values())

    @property
    def label(self) -> str:
        """How to name the source of the data to people: the one pager's name, or "the pager"."""
        names = {provider.name for provider in self._by_key.values()}
        return names.pop() if len(names) == 1 else N_("the pager")

    def close(self) -> None:
        """Release every provider's connections."""
        for provider in self._by_key.values():
            provider.close()


# -- the built-in kinds ------------------------------------------------------------------------------------
# Each builder assigns its class to a ``Provider`` variable: that line is the conformance check, since mypy
# (strict, in the README's test command) fails when a class stops satisfying the protocol.


def opsgenie_key(settings: Settings, team: Team) -> tuple[str, str]:
    """The team's Opsgenie key (its own ``api_key_env`` or OPSGENIE_API_KEY) and the env var it came from."""
    variable = team.api_key_env or "OPSGENIE_API_KEY"
    key = settings.secret(variable) if team.api_key_env else settings.opsgenie_api_key
    if key is None or not key.get_secret_value():
        raise MissingCredentials(f"set {variable} to an Opsgenie API key (Settings → API key management)")
    return key.get_secret_value(), variable


def _opsgenie_credentials(settings: Settings, team: Team) -> Hashable:
    return (opsgenie_key(settings, team)[0], settings.opsgenie_api_url)


def _opsgenie(settings: Settings, team: Team) -> Provider:
    key, variable = opsgenie_key(settings, team)
    provider: Provider = OpsgenieProvider(
        key, base_url=settings.opsgenie_api_url, web_url=settings.opsgenie_web_url, key_variable=variable
    )
    return provider


def _variable_value(settings: Settings, own: str | None, default: SecretStr | None) -> str | None:
    value = settings.secret(own) if own else default
    return value.get_secret_value() if value is not None and value.get_secret_value() else None


def pagerduty_keys(settings: Settings, team: Team) -> tuple[str, str, str | None, str]:
    """The team's PagerDuty token and routing key (None when it does not page) and their env vars."""
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


def _pagerduty_credentials(settings: Settings, team: Team) -> Hashable:
    token, _, routing_key, _ = pagerduty_keys(settings, team)
    return (token, routing_key, settings.pagerduty_api_url, settings.pagerduty_events_url)


def pagerduty_provider(settings: Settings, team: Team, **tuning: Any) -> PagerDutyProvider:
    """The team's PagerDuty client from its credentials and the URLs; ``tuning``: timeouts and retries."""
    token, token_variable, routing_key, key_variable = pagerduty_keys(settings, team)
    return PagerDutyProvider(
        token,
        routing_key=routing_key,
        base_url=settings.pagerduty_api_url,
        events_url=settings.pagerduty_events_url,
        token_env=token_variable,
        routing_key_env=key_variable,
        **tuning,
    )


def _pagerduty(settings: Settings, team: Team) -> Provider:
    provider: Provider = pagerduty_provider(settings, team)
    return provider


def _rotation_credentials(_settings: Settings, team: Team) -> Hashable:
    # No secret: the rotation is the team's own table, so each team gets its own provider.
    return (team.name.lower(), team.timezone, team.rotation)


def _rotation(_settings: Settings, team: Team) -> Provider:
    if team.rotation is None:
        raise MissingCredentials(f"team {team.name!r} has no [teams.rotation] table")
    provider: Provider = RotationProvider(team.rotation, team.timezone)
    return provider


@dataclass(frozen=True)
class JsmCredentials:
    """A team's JSM account (site, email, API token and its env var) and the optional integration key."""

    site_url: str
    email: str
    api_token: str
    token_variable: str
    integration_key: str | None


def jsm_credentials(settings: Settings, team: Team) -> JsmCredentials:
    """The team's JSM account; MissingCredentials names every variable still to set."""
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


def _jsm_credentials(settings: Settings, team: Team) -> Hashable:
    found = jsm_credentials(settings, team)
    return (found, settings.jsm_api_url, settings.jsm_cloud_id)


def _jsm(settings: Settings, team: Team) -> Provider:
    found = jsm_credentials(settings, team)
    provider: Provider = JsmProvider(
        found.email,
        found.api_token,
        site_url=found.site_url,
        api_url=settings.jsm_api_url,
        cloud_id=settings.jsm_cloud_id,
        integration_key=found.integration_key,
    )
    return provider


register(ProviderKind("opsgenie", _opsgenie_credentials, _opsgenie))
register(ProviderKind("pagerduty", _pagerduty_credentials, _pagerduty))
register(ProviderKind("rotation", _rotation_credentials, _rotation))
register(ProviderKind("jsm", _jsm_credentials, _jsm))
