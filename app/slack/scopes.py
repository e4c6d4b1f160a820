"""The bot token scopes the app needs, by the Slack methods that need them (manifest.yaml must match)."""

from __future__ import annotations

# Every Web API method the bot calls, with the bot scope it needs (None: no scope needed).
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "apps.connections.open": None,  # app-level token, connections:write
    "users.lookupByEmail": "users:read.email",
    "users.info": "users:read",
    "conversations.info": "channels:read",
    # Reading a once-only post back when its outcome is unknown (services/once.py).
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "conversations.open": "im:write",  # the bot's DM with a person, to read a handover DM back
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.getPermalink": None,
    "views.publish": None,
    "usergroups.list": "usergroups:read",
    "usergroups.users.update": "usergroups:write",
}

# Scopes needed by features rather than by a method call.
FEATURE_SCOPES = (
    "commands",  # the /oncall slash command
    "app_mentions:read",  # the app_mention event (escalation)
    "groups:read",  # conversations.info on a private team channel
    "groups:history",  # reading back a post in a private team channel
    "im:history",  # reading back a handover DM
)


def required_bot_scopes() -> set[str]:
    """Every bot scope the app needs."""
    return {scope for scope in METHOD_SCOPES.values() if scope} | set(FEATURE_SCOPES)


def lacking_scopes(granted_header: str | None) -> list[str]:
    """The scopes manifest.yaml asks for that the installed app lacks, from auth.test's x-oauth-scopes.

    An install made before a scope was added to the manifest lacks it until an admin re-approves the app.
    """
    granted = {scope.strip() for scope in (granted_header or "").split(",") if scope.strip()}
    return sorted(required_bot_scopes() - granted)
