"""manifest.yaml imports as is: Socket Mode, the command, the events, and exactly the scopes the code uses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from app.slack.scopes import METHOD_SCOPES, required_bot_scopes

ROOT = Path(__file__).resolve().parents[1]


def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yaml").read_text(encoding="utf-8"))


def slack_methods_called_by_the_app() -> set[str]:
    """Every WebClient method the app's code calls (slack.users_info(...) → users.info)."""
    calls: set[str] = set()
    families = "apps|auth|chat|conversations|users|usergroups|views"
    pattern = re.compile(rf"\b(?:slack|_?client)\.({families})_(\w+)\(")  # the gateway calls self._client
    for path in (ROOT / "app").rglob("*.py"):
        if "sandbox" in path.parts:
            continue
        for family, rest in pattern.findall(path.read_text(encoding="utf-8")):
            parts = rest.split("_")
            calls.add(
                ".".join([family, *parts]) if family == "usergroups" else f"{family}.{rest.replace('_', '.')}"
            )
    return {_slack_name(c) for c in calls}


def _slack_name(dotted: str) -> str:
    # WebClient names use snake case where Slack uses camelCase (users_lookupByEmail → users.lookupByEmail).
    known = {m.lower().replace(".", ""): m for m in METHOD_SCOPES}
    return known.get(dotted.lower().replace(".", ""), dotted)


def test_manifest_scopes_are_exactly_the_scopes_the_code_needs() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert scopes == required_bot_scopes()


def test_every_slack_method_the_code_calls_has_a_known_scope() -> None:
    called = slack_methods_called_by_the_app()
    assert called, "the scan found no Slack calls: the pattern is broken"
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"add these to app/slack/scopes.py METHOD_SCOPES: {sorted(unknown)}"
    unused = {m for m, scope in METHOD_SCOPES.items() if scope} - called
    assert not unused, f"scopes listed for methods the code never calls: {sorted(unused)}"


def test_manifest_turns_on_what_the_bot_uses() -> None:
    data = manifest()
    assert data["settings"]["socket_mode_enabled"] is True
    assert set(data["settings"]["event_subscriptions"]["bot_events"]) == {"app_mention", "app_home_opened"}
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    [command] = data["features"]["slash_commands"]
    assert command["command"] == "/oncall"
    assert command["description"]
    assert command["usage_hint"]
    assert data["features"]["bot_user"]["display_name"]


def test_procfile_runs_the_bot() -> None:
    assert (ROOT / "Procfile").read_text(encoding="utf-8").strip() == "worker: oncall-bot run"
