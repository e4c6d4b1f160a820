"""The provider registry: one client per (kind, credentials), per-team keys, credentials only where used."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.config import Settings
from app.oncall_config import parse_oncall_config
from app.providers.opsgenie import OpsgenieProvider
from app.providers.registry import Providers, check_credentials, known_kinds
from app.providers.rotation import RotationProvider

TOKENS = {"SLACK_BOT_TOKEN": "xoxb-1-2-3", "SLACK_APP_TOKEN": "xapp-1-A1-2"}


def team(name: str, extra: str = "", *, schedule: str | None = "sched") -> str:
    line = f'schedule = "{schedule}"\n' if schedule else ""
    return f'[[teams]]\nname = "{name}"\n{line}usergroup = "{name}-oncall"\nchannel = "C0123456789"\n{extra}'


ROTATION = (
    '[teams.rotation]\npeople = ["a@corp.example", "U0BOB000001"]\nshift = "1w"\nstart = "2026-11-30 09:00"\n'
)


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, slack_bot_token="xoxb-1", slack_app_token="xapp-1", **values)  # type: ignore[call-arg]


def test_teams_sharing_a_key_share_one_client_and_a_team_key_gets_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INFRA_GENIE_KEY", "infra-key")
    config = parse_oncall_config(
        team("data") + team("web") + team("infra", 'api_key_env = "INFRA_GENIE_KEY"\n')
        + team("ops", ROTATION, schedule=None) + team("sre", ROTATION, schedule=None),
        Path("oncall.toml"),
    )  # fmt: skip
    providers = Providers(settings(opsgenie_api_key="shared-key"), config.teams)
    data, web, infra = (providers.for_team(name) for name in ("data", "web", "infra"))
    assert isinstance(data, OpsgenieProvider)
    assert data is web
    assert isinstance(infra, OpsgenieProvider)
    assert infra is not data
    ops, sre = providers.for_team("ops"), providers.for_team("SRE")
    assert isinstance(ops, RotationProvider)
    assert ops is not sre
    assert (ops.can_page, data.can_page) == (False, True)
    assert len(providers.all()) == 4
    assert providers.label == "the pager"  # several pagers: no single name to show
    providers.close()


def test_credentials_are_required_only_for_providers_in_use() -> None:
    rotation_only = parse_oncall_config(team("ops", ROTATION, schedule=None), Path("oncall.toml"))
    assert check_credentials(settings(), rotation_only.teams) == []
    assert Providers(settings(), rotation_only.teams).label == "the rotation"
    mixed = parse_oncall_config(
        team("ops", ROTATION, schedule=None) + team("infra", 'api_key_env = "INFRA_KEY"\n') + team("data"),
        Path("oncall.toml"),
    )
    assert check_credentials(settings(), mixed.teams) == [
        "team 'infra' (provider opsgenie): set INFRA_KEY to an Opsgenie API key "
        "(Settings → API key management)",
        "team 'data' (provider opsgenie): set OPSGENIE_API_KEY to an Opsgenie API key "
        "(Settings → API key management)",
    ]


def test_sync_without_the_pager_key_an_opsgenie_team_needs_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "oncall.toml"
    path.write_text(team("data"), encoding="utf-8")
    for key, value in {**TOKENS, "ONCALL_CONFIG": str(path)}.items():
        monkeypatch.setenv(key, value)
    assert main(["sync"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: team 'data' (provider opsgenie): set OPSGENIE_API_KEY" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("kind", ["victorops"])
def test_a_provider_without_a_builder_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    if kind in known_kinds():
        pytest.skip(f"{kind} has a builder now")
    path = tmp_path / "oncall.toml"
    path.write_text(team("data", f'provider = "{kind}"\n'), encoding="utf-8")
    for key, value in {**TOKENS, "ONCALL_CONFIG": str(path)}.items():
        monkeypatch.setenv(key, value)
    assert main(["sync"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: team 'data', field 'provider': unknown provider '{kind}': use one of opsgenie" in err
