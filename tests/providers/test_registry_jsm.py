"""JSM in the provider registry: its settings, the variables a team still needs, one client per account."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.oncall_config import parse_oncall_config
from app.providers.jsm import JsmProvider
from app.providers.registry import Providers, check_credentials
from tests.providers.test_registry import settings, team

JSM = 'provider = "jsm"\n'
ACCOUNT = {
    "jsm_site_url": "https://corp.atlassian.net/",
    "jsm_email": "oncall-bot@corp.example",
    "jsm_api_token": "jsm-token-1",
}


def config(text: str) -> tuple:
    return parse_oncall_config(text, Path("oncall.toml")).teams


def test_jsm_teams_share_one_client_per_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFRA_JSM_TOKEN", "infra-jsm-token")
    teams = config(
        team("data", JSM) + team("ops", JSM) + team("infra", JSM + 'api_key_env = "INFRA_JSM_TOKEN"\n')
        + team("legacy")
    )  # fmt: skip
    providers = Providers(settings(**ACCOUNT, opsgenie_api_key="og"), teams)
    data, ops, infra = (providers.for_team(name) for name in ("data", "ops", "infra"))
    assert isinstance(data, JsmProvider)
    assert data is ops
    assert infra is not data  # its own token, so its own client (and its own view of JSM)
    assert data.site_url == "https://corp.atlassian.net"
    assert providers.for_team("legacy").name == "Opsgenie"
    assert providers.label == "the pager"
    providers.close()


def test_a_jsm_team_names_every_variable_it_still_needs() -> None:
    teams = config(team("data", JSM))
    [problem] = check_credentials(settings(jsm_email="oncall-bot@corp.example"), teams)
    assert problem.startswith("team 'data' (provider jsm): set JSM_SITE_URL, JSM_API_TOKEN: the site")
    assert "service accounts cannot call the Operations API" in problem
    assert check_credentials(settings(**ACCOUNT), teams) == []


def test_the_integration_key_switches_paging_to_the_integration_api() -> None:
    teams = config(team("data", JSM + 'escalate = "page"\n'))
    with_key = Providers(settings(**ACCOUNT, jsm_integration_key="int-key-1"), teams).for_team("data")
    without = Providers(settings(**ACCOUNT), teams).for_team("data")
    assert isinstance(with_key, JsmProvider)
    assert isinstance(without, JsmProvider)
    assert with_key.paging.integration
    assert not without.paging.integration
