"""The bot's Slack Web API client: every request's arguments pass through the one redaction first."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from app.redaction import redact_value

# Arguments that are credentials by design: sent as they are (slack_sdk normally sends them as headers).
_CREDENTIAL_ARGUMENTS = frozenset({"token", "client_secret", "refresh_token", "code"})


def _redacted(arguments: dict[str, Any] | None) -> dict[str, Any] | None:
    if not arguments:
        return arguments
    return {
        key: value if key in _CREDENTIAL_ARGUMENTS else redact_value(value)
        for key, value in arguments.items()
    }


class RedactingWebClient(WebClient):
    """slack_sdk's WebClient whose messages, views and other payloads can never carry a secret.

    Every Web API method ends in ``api_call``, so redacting there covers chat.postMessage, views.publish
    and whatever a later caller adds, whoever built the text.
    """

    def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> SlackResponse:
        """Call ``api_method`` with every text argument redacted."""
        return super().api_call(
            api_method,
            http_verb=http_verb,
            files=files,
            data=_redacted(data),
            params=_redacted(params),
            json=_redacted(json),
            headers=headers,
            auth=auth,
        )
