"""`oncall-bot check`: every connection and setting the bot depends on, each reported ok or FAIL."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from app.config import OncallConfig, Settings
from app.providers import ProviderError
from app.providers.registry import Builder, Providers, check_credentials
from app.runtime import utc_now
from app.slack.errors import from_sdk
from app.slack.scopes import required_bot_scopes
from app.wiring import make_slack_client


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, what was found, and a hint when it failed."""

    name: str
    ok: bool
    detail: str
    hint: str = ""

    def line(self) -> str:
        """The check as printed by the CLI."""
        text = f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"
        return text + (f"\n      hint: {self.hint}" if self.hint and not self.ok else "")


def _auth(client: WebClient) -> list[CheckResult]:
    try:
        response = client.auth_test()
    except SlackApiError as error:
        failure = from_sdk("auth.test", error)
        return [CheckResult("Slack bot token", False, str(failure), "copy the Bot User OAuth Token (xoxb-)")]
    results = [CheckResult("Slack bot token", True, f"bot {response.get('user')} in {response.get('team')}")]
    granted = {s.strip() for s in (response.headers.get("x-oauth-scopes") or "").split(",") if s.strip()}
    missing = sorted(required_bot_scopes() - granted)
    if missing:
        results.append(
            CheckResult(
                "Slack scopes",
                False,
                "missing " + ", ".join(missing),
                "add them (manifest.yaml lists them all) and reinstall the app to the workspace",
            )
        )
    else:
        results.append(CheckResult("Slack scopes", True, f"{len(granted)} granted, none missing"))
    return results


def _socket_mode(client: WebClient, app_token: str) -> CheckResult:
    name = "Socket Mode"
    try:
        url = client.apps_connections_open(app_token=app_token)["url"]
        with connect(url, open_timeout=10, close_timeout=2) as websocket:
            hello = json.loads(websocket.recv(timeout=10))
    except SlackApiError as error:
        return CheckResult(
            name,
            False,
            str(from_sdk("apps.connections.open", error)),
            "use an app-level token (xapp-) with connections:write; enable Socket Mode",
        )
    except (OSError, TimeoutError, WebSocketException, ValueError) as error:
        return CheckResult(name, False, f"could not open the connection: {error}", "check the network")
    if hello.get("type") != "hello":
        return CheckResult(name, False, f"expected hello, got {hello.get('type')!r}")
    return CheckResult(name, True, "connected, hello received")


def _pagers(providers: Providers, config: OncallConfig) -> list[CheckResult]:
    """Each provider in use once (its key), then each team's schedule through its own provider."""
    results, broken = [], set()
    for provider in providers.all():
        teams = [t for t in config.teams if providers.for_team(t) is provider]
        if all(t.provider == "rotation" for t in teams):
            continue  # a rotation has no key: its team's line below says who is on call
        name = f"{provider.name} API key"
        users = f"team{'s' if len(teams) > 1 else ''} {', '.join(t.name for t in teams)}"
        try:
            provider.check()
        except ProviderError as error:
            results.append(CheckResult(name, False, f"{error} ({users})", "set the key named in the error"))
            broken.add(id(provider))
            continue
        results.append(CheckResult(name, True, f"accepted ({users})"))
    now = utc_now()
    for team in config.teams:
        provider = providers.for_team(team)
        if id(provider) in broken:
            continue
        what = "rotation" if team.provider == "rotation" else f"schedule {team.schedule!r}"
        name = f"team {team.name}: {what}"
        try:
            on_call = provider.on_call(team.schedule, now)
        except ProviderError as error:
            results.append(CheckResult(name, False, str(error), "check the schedule name in the teams file"))
            continue
        people = ", ".join(on_call.people) or "nobody"
        results.append(CheckResult(name, True, f"readable; on call now: {people}"))
    return results


def _pager_credentials(settings: Settings, config: OncallConfig) -> list[CheckResult]:
    return [
        CheckResult("pager credentials", False, problem, "set the env var it names (or in .env)")
        for problem in check_credentials(settings, config.teams)
    ]


def _usergroups(client: WebClient, config: OncallConfig) -> list[CheckResult]:
    try:
        groups = client.usergroups_list(include_disabled=True)["usergroups"]
    except SlackApiError as error:
        failure = from_sdk("usergroups.list", error)
        return [CheckResult("user groups", False, str(failure), "user groups need a paid plan")]
    results = []
    for team in config.teams:
        match = next((g for g in groups if team.usergroup in (g.get("id"), g.get("handle"))), None)
        name = f"team {team.name}: usergroup @{team.usergroup}"
        if match is None:
            results.append(CheckResult(name, False, "not found", "create it in Slack, or fix 'usergroup'"))
        elif match.get("date_delete"):
            results.append(CheckResult(name, False, "disabled", "enable it in Slack"))
        else:
            results.append(CheckResult(name, True, f"found ({match['id']})"))
    return results


def _channels(client: WebClient, config: OncallConfig) -> list[CheckResult]:
    results = []
    for team in config.teams:
        name = f"team {team.name}: channel {team.channel}"
        try:
            channel = client.conversations_info(channel=team.channel)["channel"]
        except SlackApiError as error:
            results.append(
                CheckResult(
                    name,
                    False,
                    str(from_sdk("conversations.info", error)),
                    "use the channel ID from the channel's details",
                )
            )
            continue
        if channel.get("is_archived"):
            results.append(CheckResult(name, False, "archived", "pick a live channel"))
        elif not channel.get("is_member", False):
            results.append(
                CheckResult(
                    name,
                    False,
                    f"#{channel.get('name')}: the bot is not a member",
                    "invite it: /invite @oncall-bot",
                )
            )
        else:
            results.append(CheckResult(name, True, f"#{channel.get('name')}"))
    return results


def run_checks(
    settings: Settings,
    config: OncallConfig,
    *,
    builders: Mapping[str, Builder] | None = None,
) -> list[CheckResult]:
    """Run every check in order; a failed check does not stop the others."""
    results = [CheckResult("config", True, f"{config.path}: {len(config.teams)} team(s)")]
    client = make_slack_client(settings)
    results += _auth(client)
    results.append(_socket_mode(client, settings.slack_app_token.get_secret_value()))
    missing = _pager_credentials(settings, config)
    if missing:
        results += missing
    else:
        providers = Providers(settings, config.teams, builders=builders)
        try:
            results += _pagers(providers, config)
        finally:
            providers.close()
    results += _usergroups(client, config)
    results += _channels(client, config)
    return results
