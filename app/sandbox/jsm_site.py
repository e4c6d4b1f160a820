"""The JSM sandbox's Jira site: ``/_edge/tenant_info`` and Jira's user API (``/rest/api/3/user``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.sandbox.jsm_faults import jira_error
from app.sandbox.opsgenie_api import Reply

if TYPE_CHECKING:
    from app.sandbox.jsm import JsmSandbox, JsmUser

_NO_USER = "Specified user does not exist or you do not have required permissions"


def site_route(
    sandbox: JsmSandbox, method: str, segments: list[str], query: dict[str, list[str]], authenticated: bool
) -> Reply:
    """Answer one request to the site host."""
    match method, segments:
        case "GET", ["_edge", "tenant_info"]:
            return Reply(200, {"cloudId": sandbox.cloud_id})  # public: no credentials needed
        case "GET", ["rest", "api", "3", "user"]:
            if not authenticated:
                return jira_error(401, "Client must be authenticated to access this resource.")
            account_ids = query.get("accountId") or [""]
            return _user(sandbox, account_ids[-1])
    return jira_error(404, "null for uri: /" + "/".join(segments))


def _user(sandbox: JsmSandbox, account_id: str) -> Reply:
    if not account_id:
        return jira_error(400, "The query parameter 'accountId' is required and must not be empty.")
    with sandbox.lock:
        user = sandbox.users.get(account_id)
        if user is None:
            return jira_error(404, _NO_USER)
        return Reply(200, user_json(sandbox, user))


def user_json(sandbox: JsmSandbox, user: JsmUser) -> dict[str, Any]:
    """A Jira user as ``GET /rest/api/3/user`` shows it: no ``emailAddress`` when its owner hides it."""
    avatar = f"https://avatar-management.example/{user.account_id}"
    body: dict[str, Any] = {
        "self": f"{sandbox.site_url}/rest/api/3/user?accountId={user.account_id}",
        "accountId": user.account_id,
        "accountType": "atlassian",
        "avatarUrls": {size: f"{avatar}/{size}" for size in ("16x16", "24x24", "32x32", "48x48")},
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
        "locale": "en_US",
    }
    if user.email_visible:
        body["emailAddress"] = user.email
    return body
