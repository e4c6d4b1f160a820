"""Slack's error codes mapped, in one place, to narrow exceptions with a sentence for the admin.

Only the gateway (``app/slack/gateway.py``) maps errors; everyone else catches ``app.chat``'s exceptions.
"""

from __future__ import annotations

from typing import Any
from urllib.error import URLError

from slack_sdk.errors import SlackApiError, SlackClientError

from app.chat import SlackCallFailed, SlackOutcomeUnknown, SlackRefused, SlackThrottled

__all__ = ["SLACK_FAILURES", "SlackCallFailed", "call_failed", "explain", "promised", "slack_error_code"]

# Every way a Web API call can fail: Slack said no, or Slack could not be reached (slack_sdk raises the
# network errors raw, as URLError/TimeoutError, which are OSErrors).
SLACK_FAILURES = (SlackApiError, SlackClientError, OSError)

_SENTENCES = {
    "permission_denied": (
        "Slack refused to edit the user group (permission_denied): in Workspace settings → Permissions → "
        "User Groups, let everyone (not only admins) create and manage user groups"
    ),
    "plan_upgrade_required": "user groups need a paid Slack plan (plan_upgrade_required)",
    "invalid_users": "Slack refused one of the members (invalid_users): deactivated users, bots and guests "
    "cannot be in a user group",
    "failed_for_some_users": "Slack could not add some of the members (failed_for_some_users)",
    "no_users_provided": "Slack refuses an empty user group (no_users_provided)",
    "subteam_not_found": "the user group does not exist in this workspace (subteam_not_found)",
    "subteam_max_users_exceeded": "the user group is full (subteam_max_users_exceeded)",
    "missing_scope": "the bot token lacks a scope: reinstall the app from manifest.yaml",
    "invalid_auth": "Slack rejected the bot token (invalid_auth): check SLACK_BOT_TOKEN",
    "not_authed": "no Slack token was sent (not_authed): set SLACK_BOT_TOKEN",
    "account_inactive": "the bot token belongs to a deleted app or user (account_inactive)",
    "token_revoked": "the bot token was revoked (token_revoked): reinstall the app",
    "channel_not_found": "the channel does not exist or the bot cannot see it (channel_not_found)",
    "not_in_channel": "the bot is not in the channel (not_in_channel): invite it with /invite @oncall-bot",
    "is_archived": "the channel is archived (is_archived)",
    "ratelimited": "Slack kept rate-limiting the bot (ratelimited) after retries",
    "users_not_found": "no Slack user has that email (users_not_found)",
    "user_not_found": "no such Slack user (user_not_found)",
}

# apps.connections.open is the one call made with the app-level token: its token errors are about that one.
_APP_TOKEN_SENTENCES = {
    "invalid_auth": "Slack rejected the app-level token (invalid_auth): check SLACK_APP_TOKEN",
    "not_authed": "no app-level token was sent (not_authed): set SLACK_APP_TOKEN",
    "token_revoked": "the app-level token was revoked (token_revoked): generate a new one",
    "not_allowed_token_type": "SLACK_APP_TOKEN is not an app-level token (not_allowed_token_type): "
    "generate one (xapp-) with connections:write",
}


def slack_error_code(error: SlackApiError) -> str:
    """Slack's error string from an SDK exception ("ratelimited", "permission_denied", ...)."""
    response = error.response
    data = response.data if response is not None else None
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    if response is not None and response.status_code == 429:
        return "ratelimited"
    return "unknown_error"


def explain(code: str) -> str:
    """A sentence an admin can act on for a Slack error code."""
    return _SENTENCES.get(code, f"Slack answered {code}")


def from_sdk(method: str, error: SlackApiError) -> SlackCallFailed:
    """Turn an SDK exception (Slack answered, with an error) into our narrow, explained one."""
    response = error.response
    status = response.status_code if response is not None else 200
    if status >= 500:
        # The body of a 5xx is a load balancer's page, not Web API JSON: its "error" means nothing, and
        # Slack may have acted before the proxy gave up.
        sentence = f"Slack answered HTTP {status}: a problem on Slack's side; try again later"
        return SlackOutcomeUnknown(method, "server_error", sentence, cause=error)
    code = slack_error_code(error)
    special = _APP_TOKEN_SENTENCES.get(code) if method == "apps.connections.open" else None
    sentence = special or explain(code)
    data = response.data if response is not None else None
    if code == "missing_scope" and isinstance(data, dict) and data.get("needed"):
        sentence = f"the bot token lacks the scope {data['needed']}: reinstall the app from manifest.yaml"
    kind = SlackThrottled if code == "ratelimited" else SlackRefused
    return kind(method, code, sentence, cause=error)


def call_failed(method: str, error: Exception) -> SlackCallFailed:
    """Any failure of a Slack call (an error answer or no answer) as our narrow, explained exception.

    urllib raises URLError only while connecting or sending (the request never left: refused); a
    timeout or a dropped connection while waiting for the answer comes raw (the outcome is unknown).
    """
    if isinstance(error, SlackCallFailed):
        return error
    if isinstance(error, SlackApiError):
        return from_sdk(method, error)
    sentence = f"Slack could not be reached: {error}"
    if isinstance(error, URLError | SlackClientError):
        return SlackRefused(method, "unreachable", sentence, cause=error)
    return SlackOutcomeUnknown(method, "unreachable", sentence, cause=error)


def promised(response: Any, method: str, key: str, kind: type = dict) -> Any:
    """The ``key`` a Slack method promises in its answer; SlackCallFailed("bad_response") when it is missing.

    An answer of ``{"ok": true}`` without the list or object the method documents (a proxy, an outage
    page, a changed API) must read as a bad response with a sentence, not crash the caller.
    """
    value = response.get(key) if hasattr(response, "get") else None
    if not isinstance(value, kind):
        what = "list" if kind is list else "object"
        sentence = f"Slack answered ok but without the {key} {what} the method promises (bad_response)"
        raise SlackOutcomeUnknown(method, "bad_response", sentence)
    return value
