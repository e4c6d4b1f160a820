"""The gateway's WebClients: every argument redacted, and the one place that knows Slack's retries.

Only the gateway (``app/slack/gateway.py``) and this module import ``WebClient``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse

from app.redaction import redact_value
from app.slack.retry import StoppableRateLimitRetryHandler
from app.stopping import Stopping

if TYPE_CHECKING:
    from app.config import Settings
    from app.metrics import Metrics

# Arguments that are credentials by design: sent as they are (slack_sdk normally sends them as headers).
_CREDENTIAL_ARGUMENTS = frozenset({"token", "client_secret", "refresh_token", "code", "app_token"})

TIMEOUT = 15.0  # seconds for one request: a healthy Slack answers in well under a second
QUICK = 1.0  # seconds, one try: a read someone is waiting on (may they page?) never waits on a slow Slack


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


def running_retries(metrics: Metrics | None, stopping: Stopping) -> list[RetryHandler]:
    """The running bot's retries: 429 (Retry-After, unless stopping), 5xx and connection errors."""
    counted = metrics.slack_ratelimited_method if metrics is not None else None
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        StoppableRateLimitRetryHandler(stopping, max_retry_count=3, counted=counted),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def single_shot(handlers: list[RetryHandler]) -> list[RetryHandler]:
    """The retries a write that must not happen twice may use: only a 429 (Slack did not take it).

    A connection error or a 5xx may come after Slack acted; retrying it blindly could post twice.
    """
    return [h for h in handlers if not isinstance(h, ConnectionErrorRetryHandler | ServerErrorRetryHandler)]


def web_client(
    token: str,
    base_url: str,
    handlers: list[RetryHandler],
    *,
    timeout: float = TIMEOUT,
    logger: logging.Logger | None = None,
) -> WebClient:
    """A redacting WebClient on ``base_url`` with exactly ``handlers`` as its retries."""
    extra: dict[str, Any] = {"logger": logger} if logger is not None else {}
    return RedactingWebClient(
        token=token,
        base_url=base_url,
        # slack_sdk annotates an int, but urllib (its transport) takes fractions of a second.
        timeout=timeout,  # type: ignore[arg-type]
        retry_handlers=list(handlers),
        **extra,
    )


@dataclass(frozen=True, slots=True)
class Clients:
    """The gateway's clients: every call's, the once-only posts' (no blind retries), the quick reads'."""

    main: WebClient
    once: WebClient
    quick: WebClient


def clients_on(
    settings: Settings,
    handlers: list[RetryHandler],
    *,
    single_shot_handlers: list[RetryHandler] | None = None,
    timeout: float = TIMEOUT,
    logger: logging.Logger | None = None,
) -> Clients:
    """Clients on SLACK_API_URL with the bot token and exactly ``handlers`` as retries."""
    token, url = settings.slack_bot_token.get_secret_value(), settings.slack_api_url
    once = single_shot_handlers if single_shot_handlers is not None else handlers
    return Clients(
        web_client(token, url, handlers, timeout=timeout, logger=logger),
        web_client(token, url, once, timeout=timeout, logger=logger),
        web_client(token, url, [], timeout=min(timeout, QUICK), logger=logger),
    )


def running_clients(settings: Settings, metrics: Metrics | None, stopping: Stopping) -> Clients:
    """The running bot's: 429s waited out (unless stopping), 5xx and connection errors retried."""
    handlers = running_retries(metrics, stopping)
    return clients_on(settings, handlers, single_shot_handlers=single_shot(handlers))


def checking_clients(settings: Settings, timeout: float, logger: logging.Logger) -> Clients:
    """`oncall-bot check`'s: one try per call (one 429 waited out), a short timeout."""
    return clients_on(
        settings, [RateLimitErrorRetryHandler(max_retry_count=1)], timeout=timeout, logger=logger
    )
