"""PagerDuty in the provider registry: its credentials, per-team token and routing key, where required."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError
from app.oncall_config import parse_oncall_config
from app.providers.pagerduty import PagerDutyProvider
from app.providers.registry import Providers, check_credentials
from tests.providers.test_registry import settings, team

PD = 'provider = "pagerduty"\n'
PAGES = 'escalate = "page"\n'
ROUTING_KEY = "R0DATA0SERVICE0KEY00000000000001"


def config(text: str) -> tuple:
    return parse_oncall_config(text, Path("oncall.toml")).teams


def test_pagerduty_teams_share_a_client_per_token_and_routing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFRA_PD_TOKEN", "infra-token")
    monkeypatch.setenv("WEB_ROUTING_KEY", "R0WEB0SERVICE0KEY000000000000002")
    teams = config(
        team("data", PD + PAGES) + team("ops", PD + PAGES)
        + team("infra", PD + 'api_key_env = "INFRA_PD_TOKEN"\n')
        + team("web", PD + PAGES + 'routing_key_env = "WEB_ROUTING_KEY"\n') + team("legacy")
    )  # fmt: skip
    values = {
        "pagerduty_api_token": "pd-token",
        "pagerduty_routing_key": ROUTING_KEY,
        "opsgenie_api_key": "og",
    }
    providers = Providers(settings(**values), teams)
    data, ops, infra, web = (providers.for_team(name) for name in ("data", "ops", "infra", "web"))
    assert isinstance(data, PagerDutyProvider)
    assert data is ops
    assert infra is not data  # its own token
    assert web is not data  # its own service to page
    assert providers.for_team("legacy").name == "Opsgenie"
    assert len(providers.all()) == 4
    providers.close()


def test_a_token_is_required_and_a_routing_key_only_for_paging_teams(monkeypatch: pytest.MonkeyPatch) -> None:
    teams = config(
        team("data", PD) + team("ops", PD + PAGES) + team("web", PD + PAGES + 'routing_key_env = "WEB_KEY"\n')
    )
    assert check_credentials(settings(), teams[:1]) == [
        "team 'data' (provider pagerduty): set PAGERDUTY_API_TOKEN to a PagerDuty REST API key "
        "(Integrations → API Access Keys; read-only is enough)"
    ]
    with_token = settings(pagerduty_api_token="pd-token")
    assert check_credentials(with_token, teams) == [
        "team 'ops' (provider pagerduty): set PAGERDUTY_ROUTING_KEY to the Integration Key of an Events API "
        "v2 integration on the service to page (the team has escalate = 'page')",
        "team 'web' (provider pagerduty): set WEB_KEY to the Integration Key of an Events API v2 "
        "integration on the service to page (the team has escalate = 'page')",
    ]
    monkeypatch.setenv("WEB_KEY", ROUTING_KEY)
    assert (
        check_credentials(settings(pagerduty_api_token="t", pagerduty_routing_key=ROUTING_KEY), teams) == []
    )


def test_no_opsgenie_key_is_needed_for_pagerduty_teams() -> None:
    teams = config(team("data", PD))
    assert check_credentials(settings(pagerduty_api_token="pd-token"), teams) == []
    assert Providers(settings(pagerduty_api_token="pd-token"), teams).label == "PagerDuty"


def test_routing_key_env_belongs_to_pagerduty_teams_only() -> None:
    with pytest.raises(ConfigError, match="field 'routing_key_env': only a PagerDuty team pages"):
        config(team("data", 'routing_key_env = "KEY"\n'))
