"""`oncall-bot check`: every connection and setting the bot depends on, one line each, ok or FAIL.

Every check runs and reports whatever failed before it: a Slack that refuses connections, hangs or answers
5xx costs one short timeout, and the Slack checks after it say they were not sent instead of waiting again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TypeVar

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from app.chat import SlackCallFailed
from app.check_lines import CheckFailed, CheckResult, guarded, unreachable_reason
from app.config import Settings
from app.oncall_config import OncallConfig
from app.pager_checks import pager_checks
from app.providers.registry import Builder
from app.slack.gateway import SlackGateway
from app.slack.scopes import lacking_scopes

__all__ = ["CHECK_TIMEOUT", "CheckResult", "run_checks"]

T = TypeVar("T")

# Long enough for a healthy Slack or pager on a slow link; short enough that a hanging one is found quickly.
CHECK_TIMEOUT = 5.0

# slack_sdk logs every failed call at ERROR; check prints one line per check instead.
_QUIET = logging.getLogger("app.checks.slack_sdk")
_QUIET.propagate = False
_QUIET.addHandler(logging.NullHandler())

# What to fix when Slack refuses: the app-level token or Socket Mode; a channel the bot cannot see.
_SOCKET_MODE_SETTING = (
    "SLACK_APP_TOKEN must be an app-level token (xapp-, Basic Information → App-Level Tokens) with "
    "connections:write, and Socket Mode must be enabled for the app"
)
_CHANNEL_HIDDEN = (
    "if the channel is private, invite the bot in it (/invite @oncall-bot): Slack hides a private "
    "channel from a bot that is not in it; otherwise copy the C… ID from the channel's details"
)
_USERGROUP_SETTING = (
    "in Workspace settings → Permissions → User Groups, let everyone (not only admins and owners) "
    "create and manage user groups"
)


class _Slack:
    """The checker's Web API calls: one try each; once Slack stops answering, later calls are not sent."""

    def __init__(self, settings: Settings, timeout: float) -> None:
        self.url = settings.slack_api_url
        self.timeout = timeout
        self.gateway = SlackGateway.checking(settings, timeout, _QUIET)
        self.down: str | None = None

    def call(self, invoke: Callable[[], T], hint: str = "") -> T:
        """Run one call; raise CheckFailed with Slack's answer explained (and ``hint`` for Slack's 'no')."""
        if self.down is not None:
            raise CheckFailed(f"not checked: {self.down} (see above)")
        try:
            return invoke()
        except SlackCallFailed as failure:
            if failure.code == "unreachable":
                self.down = f"Slack did not answer at {self.url}"
                detail = f"{self.down}: {unreachable_reason(failure.cause or failure, self.timeout)}"
                raise CheckFailed(detail, "check SLACK_API_URL, the network, proxy or firewall") from None
            if failure.code in ("server_error", "bad_response"):
                raise CheckFailed(str(failure), "see status.slack.com; run check again later") from None
            raise CheckFailed(str(failure), hint, code=failure.code) from None


def _auth(slack: _Slack) -> list[CheckResult]:
    hint = "copy the Bot User OAuth Token (xoxb-, OAuth & Permissions) into SLACK_BOT_TOKEN"
    try:
        bot = slack.call(slack.gateway.identity, hint)
    except CheckFailed as failed:
        scopes = CheckResult("Slack scopes", False, "not checked: auth.test failed (see above)")
        return [failed.result("Slack bot token"), scopes]
    token = CheckResult("Slack bot token", True, f"bot {bot.user} in {bot.team}")
    return [token, _scopes(bot.scopes)]


def _scopes(header: str | None) -> CheckResult:
    """The scopes the installed app lacks, from auth.test's x-oauth-scopes header."""
    granted = {s.strip() for s in (header or "").split(",") if s.strip()}
    missing = lacking_scopes(header)
    if missing:
        hint = "add them (manifest.yaml lists them all) and reinstall the app to the workspace"
        return CheckResult("Slack scopes", False, "missing " + ", ".join(missing), hint)
    return CheckResult("Slack scopes", True, f"{len(granted)} granted, none missing")


def _socket_mode(slack: _Slack, app_token: str) -> CheckResult:
    url = slack.call(lambda: slack.gateway.open_connection(app_token), _SOCKET_MODE_SETTING)
    try:
        with connect(url, open_timeout=slack.timeout, close_timeout=1) as websocket:
            hello = json.loads(websocket.recv(timeout=slack.timeout))
    except (OSError, TimeoutError, WebSocketException, ValueError) as error:
        reason = unreachable_reason(error, slack.timeout)
        hint = "check the network, proxy or firewall"
        raise CheckFailed(f"the websocket did not open: {reason}", hint) from None
    if hello.get("type") != "hello":
        raise CheckFailed(f"expected hello, got {hello.get('type')!r}")
    return CheckResult("Socket Mode", True, "connected, hello received")


def _usergroups(slack: _Slack, config: OncallConfig) -> list[CheckResult]:
    try:
        hint = "user groups need a paid Slack plan"
        groups = slack.call(slack.gateway.usergroups, hint)
    except CheckFailed as failed:
        rest = [
            CheckResult(f"team {t.name}: usergroup @{t.usergroup}", False, "not checked: see 'user groups'")
            for t in config.teams
        ]
        return [failed.result("user groups"), *rest]
    results = [CheckResult("user groups", True, f"{len(groups)} in the workspace")]
    for team in config.teams:
        name = f"team {team.name}: usergroup @{team.usergroup}"
        match = next((g for g in groups if team.usergroup in (g.get("id"), g.get("handle"))), None)
        results.append(guarded(name, partial(_usergroup, slack, match)))
    return results


def _usergroup(slack: _Slack, group: dict[str, object] | None) -> CheckResult:
    """Found, enabled and editable: the bot writes the group's current members back unchanged."""
    if group is None:
        raise CheckFailed("not found", "create it in Slack, or fix 'usergroup' in the teams file")
    if group.get("date_delete"):
        raise CheckFailed("disabled", "enable it in Slack")
    group_id, users = str(group["id"]), [str(u) for u in group.get("users") or []]  # type: ignore[attr-defined]
    if not users:
        # Slack refuses an empty member list, so an empty group cannot be probed without changing it.
        return CheckResult("", True, f"found ({group_id}); write access not tested: the group is empty")
    # Writing the members just read back changes nothing. Should a running bot's sync land in between,
    # its next cycle puts its own members back (it compares the group with the pager every cycle).
    try:
        slack.call(lambda: slack.gateway.update_usergroup(group_id, users))
    except CheckFailed as failed:
        if failed.code != "permission_denied":
            raise
        raise CheckFailed(
            f"found ({group_id}), but the bot may not edit it (permission_denied)", _USERGROUP_SETTING
        ) from None
    return CheckResult("", True, f"found ({group_id}), editable (its {len(users)} member(s) written back)")


def _channel(slack: _Slack, channel_id: str) -> CheckResult:
    channel = slack.call(lambda: slack.gateway.channel(channel_id), _CHANNEL_HIDDEN)
    if channel.get("is_archived"):
        raise CheckFailed("archived", "pick a live channel")
    if not channel.get("is_member", False):
        hint = "invite it: /invite @oncall-bot"
        raise CheckFailed(f"#{channel.get('name')}: the bot is not a member", hint)
    return CheckResult("", True, f"#{channel.get('name')}")


def run_checks(
    settings: Settings,
    config: OncallConfig,
    *,
    timeout: float | None = None,
    builders: Mapping[str, Builder] | None = None,
) -> list[CheckResult]:
    """Run every check in order; whatever fails, each one reports a line and none raises."""
    timeout = timeout or CHECK_TIMEOUT
    results = [CheckResult("config", True, f"{config.path}: {len(config.teams)} team(s)")]
    slack = _Slack(settings, timeout)
    results += _auth(slack)
    app_token = settings.slack_app_token.get_secret_value()
    results.append(guarded("Socket Mode", lambda: _socket_mode(slack, app_token)))
    results += pager_checks(settings, config, timeout=timeout, builders=builders)
    results += _usergroups(slack, config)
    for team in config.teams:
        name = f"team {team.name}: channel {team.channel}"
        results.append(guarded(name, partial(_channel, slack, team.channel)))
    return results


def report(results: Sequence[CheckResult]) -> tuple[str, bool]:
    """The printed report (one line per check, then a count) and whether every check passed."""
    failed = sum(not r.ok for r in results)
    notes = sum(r.note for r in results)
    lines = [r.line() for r in results]
    summary = f"{len(results) - failed - notes} ok, {failed} failed" + (f", {notes} note(s)" if notes else "")
    lines.append("\n" + summary)
    return "\n".join(lines), failed == 0
