"""The one factory of providers: a team's config section → the Provider that answers for it.

Each ``ProviderKind`` says which credentials identify one client of its pager and how to build one.
``Providers`` builds every team's provider once at start, sharing one client between teams whose kind and
credentials are equal (one connection pool, one rate-limit budget per key), and answers ``for_team``.
A new pager registers one ``ProviderKind`` here (see ``app/providers/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from app.domain import Team
from app.i18n import N_
from app.providers import Provider
from app.providers.builders import (
    MissingCredentials,
    jsm_credentials,
    jsm_provider,
    opsgenie_key,
    opsgenie_provider,
    pagerduty_keys,
    pagerduty_provider,
    rotation_provider,
)
from app.providers.tuning import Tuning

if TYPE_CHECKING:
    from app.config import Settings

__all__ = [
    "Builder",
    "MissingCredentials",
    "ProviderKind",
    "Providers",
    "check_builders",
    "check_credentials",
    "kind_of",
    "known_kinds",
    "register",
]

Credentials = Callable[["Settings", Team], Hashable]
Builder = Callable[["Settings", Team], Provider]
# A kind's builder: (settings, team, tuning), the tuning being timeouts and retries (check's are quicker).
Tunable = Callable[..., Provider]


@dataclass(frozen=True, slots=True)
class ProviderKind:
    """One pager: what a team writes as ``provider``, its credentials and its builder.

    ``credentials`` returns what identifies one client (secrets included: it is only compared, never
    shown) or raises MissingCredentials; ``build(settings, team, tuning)`` makes the provider for a team.
    """

    kind: str
    credentials: Credentials
    build: Tunable


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


# `oncall-bot check` builds the same clients, only quicker to give up: one short try and one retry per
# call, and no long wait for a rate limit.
CHECK_TUNING = Tuning(max_retries=1, backoff=0.2, max_throttle_wait=2.0)


def check_builders(timeout: float) -> dict[str, Builder]:
    """Every kind's builder with check's tuning and ``timeout`` seconds per call."""
    tuning = replace(CHECK_TUNING, timeout=timeout)
    return {name: partial(kind.build, tuning=tuning) for name, kind in _KINDS.items()}


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


# -- the built-in kinds: what identifies one client of each (clients are shared between equal ones) ---------


def _opsgenie_credentials(settings: Settings, team: Team) -> Hashable:
    return (opsgenie_key(settings, team)[0], settings.opsgenie_api_url)


def _pagerduty_credentials(settings: Settings, team: Team) -> Hashable:
    token, _, routing_key, _ = pagerduty_keys(settings, team)
    return (token, routing_key, settings.pagerduty_api_url, settings.pagerduty_events_url)


def _rotation_credentials(_settings: Settings, team: Team) -> Hashable:
    # No secret: the rotation is the team's own table, so each team gets its own provider.
    return (team.name.lower(), team.timezone, team.rotation)


def _jsm_credentials(settings: Settings, team: Team) -> Hashable:
    found = jsm_credentials(settings, team)
    return (found, settings.jsm_api_url, settings.jsm_cloud_id)


register(ProviderKind("opsgenie", _opsgenie_credentials, opsgenie_provider))
register(ProviderKind("pagerduty", _pagerduty_credentials, pagerduty_provider))
register(ProviderKind("rotation", _rotation_credentials, rotation_provider))
register(ProviderKind("jsm", _jsm_credentials, jsm_provider))
