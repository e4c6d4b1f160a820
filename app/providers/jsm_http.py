"""JSM over HTTP: the API host (Ops REST API, integration API) and the Jira site, every failure mapped once.

Retries 429 (waiting what ``Retry-After`` says, when that is short), 5xx (not 501) and network errors
with backoff; gives up with one narrow ProviderError whose sentence names what to fix and never a secret.
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from app.providers import (
    AccessDenied,
    BadCredentials,
    BadResponse,
    ProviderError,
    RateLimited,
    ScheduleNotFound,
    Unreachable,
)

log = logging.getLogger(__name__)


class JsmHttp:
    """One pool per host; Basic auth (account email + API token) or an integration's GenieKey per call."""

    def __init__(
        self,
        email: str,
        api_token: str,
        *,
        api_url: str,
        site_url: str,
        integration_key: str | None,
        secrets: tuple[str, ...],
        timeout: float,
        max_retries: int,
        backoff: float,
        max_throttle_wait: float,
        sleep: Callable[[float], None],
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.site_url = site_url.rstrip("/")
        self.email = email
        self._basic = httpx.BasicAuth(email, api_token)
        self._genie = {"Authorization": f"GenieKey {integration_key}"} if integration_key else None
        self._secrets = tuple(s for s in secrets if s)
        self._timeout = timeout
        self._max_retries = max_retries
        self._backoff = backoff
        self._max_wait = max_throttle_wait
        self._sleep = sleep
        accept = {"Accept": "application/json"}
        self._api = httpx.Client(base_url=self.api_url, headers=accept, timeout=timeout, transport=transport)
        self._site = httpx.Client(
            base_url=self.site_url, headers=accept, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        """Close both connection pools."""
        self._api.close()
        self._site.close()

    # -- the calls ------------------------------------------------------------------------------------------
    def ops(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to the Ops REST API (``path`` from ``/jsm/ops/api/...``), as the account."""
        return self._send(self._api, method, path, auth=self._basic, **kwargs)

    def integration(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to the integration API (``path`` under ``/jsm/ops/integration``), with its key."""
        if self._genie is None:
            raise BadCredentials("JSM_INTEGRATION_KEY is not set")
        return self._send(self._api, method, path, headers=self._genie, **kwargs)

    def site(self, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        """A GET on the Jira site (the user API as the account, or the public tenant_info)."""
        extra: dict[str, Any] = {"auth": self._basic} if auth else {}
        return self._send(self._site, "GET", path, **extra, **kwargs)

    # -- answers --------------------------------------------------------------------------------------------
    def json(self, response: httpx.Response, subject: str, schedule: str | None = None) -> dict[str, Any]:
        """A successful answer's JSON object; every failure becomes one narrow ProviderError."""
        if response.status_code >= 400:
            raise self.error(response, subject, schedule)
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            raise BadResponse(
                f"JSM answered HTTP {response.status_code} with something that is not JSON ({kind})"
            ) from None
        if not isinstance(body, dict):
            raise BadResponse(f"JSM answered HTTP {response.status_code} with JSON that is not an object")
        return body

    def error(self, response: httpx.Response, subject: str, schedule: str | None = None) -> ProviderError:
        """The one narrow exception for a failed answer, as a sentence a human understands."""
        status, detail = response.status_code, _detail(response)
        genie = response.request.headers.get("Authorization", "").startswith("GenieKey")
        error: ProviderError
        if status == 401 and genie:
            error = BadCredentials(
                "JSM rejected the integration key (HTTP 401): check JSM_INTEGRATION_KEY (the API key of an "
                "enabled API integration, in the team's Operations → Integrations)"
            )
        elif status == 401:
            error = BadCredentials(
                f"JSM rejected the credentials of {self.email} (HTTP 401): check JSM_EMAIL and JSM_API_TOKEN "
                "(an API token of that Atlassian account, from id.atlassian.com → Security → API tokens)"
            )
        elif status in (402, 403):
            error = AccessDenied(
                f"JSM denied {self.email} access to {subject} (HTTP {status}: {detail}); the Operations API "
                "takes a real user (not a service account) who may see the schedule's team"
            )
        elif status == 404 and schedule:
            error = ScheduleNotFound(f"JSM has no schedule with id '{schedule}' that {self.email} can see")
        elif status == 404:
            error = BadResponse(
                f"JSM answered 404 for {response.request.url.path}: check JSM_API_URL, JSM_SITE_URL and "
                "JSM_CLOUD_ID"
            )
        else:
            error = BadResponse(f"JSM refused {subject} (HTTP {status}): {detail}")
            error.retryable = status >= 500
        return self.scrubbed(error)

    # -- sending --------------------------------------------------------------------------------------------
    def _send(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries on 429, 5xx (not 501) and network errors; give up with a narrow error."""
        for attempt in range(self._max_retries + 1):
            last = attempt == self._max_retries
            try:
                response = client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if last or isinstance(exc, httpx.UnsupportedProtocol):
                    raise self._unreachable(client, _reason(exc, self._timeout)) from None
                self._pause(self._delay(attempt), f"{method} {_short(path)} failed ({type(exc).__name__})")
                continue
            if response.status_code == 429:
                wait = retry_after(response.headers)
                wait = self._delay(attempt) if wait is None else wait
                if last or wait > self._max_wait:
                    raise RateLimited(
                        f"JSM is rate limiting {self.email} (HTTP 429, retry after {wait:.0f} s); "
                        "the next run will try again"
                    )
                self._pause(wait, f"{method} {_short(path)} throttled (HTTP 429)")
                continue
            if response.status_code >= 500 and response.status_code != 501:
                if last:
                    tries = self._max_retries + 1
                    raise self._unreachable(client, f"HTTP {response.status_code} after {tries} attempts")
                self._pause(self._delay(attempt), f"{method} {_short(path)} answered {response.status_code}")
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _delay(self, attempt: int) -> float:
        # Jitter keeps several replicas from retrying in lockstep.
        return self._backoff * 2.0**attempt * random.uniform(1.0, 1.1)

    def _pause(self, seconds: float, why: str) -> None:
        log.warning("JSM: %s; waiting %.2f s", why, seconds)
        self._sleep(seconds)

    def _unreachable(self, client: httpx.Client, reason: str) -> Unreachable:
        return Unreachable(self.scrub(f"JSM unreachable at {client.base_url}: {reason}"))

    def scrub(self, text: str) -> str:
        """Belt and braces: no token or key reaches a message, whatever the server echoes."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def scrubbed(self, error: ProviderError) -> ProviderError:
        """``error`` with every secret taken out of its sentence."""
        scrubbed = type(error)(self.scrub(str(error)))
        scrubbed.retryable = error.retryable
        return scrubbed


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from ``Retry-After`` (a number or an HTTP date); None when absent or unreadable."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _detail(response: httpx.Response) -> str:
    """JSM's own error words in any of its shapes (Ops API, gateway, integration API, Jira)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    parts: list[str] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        parts += [str(e.get("title") or e.get("detail") or e) for e in errors if isinstance(e, dict)]
    elif isinstance(errors, dict) and errors:
        parts += [f"{k}: {v}" for k, v in errors.items()]
    messages = body.get("errorMessages")
    if isinstance(messages, list):
        parts += [str(m) for m in messages]
    if body.get("message"):
        parts.insert(0, str(body["message"]))
    return ("; ".join(parts) or response.reason_phrase or f"HTTP {response.status_code}")[:300]


def _short(path: str) -> str:
    # Cloud ids and account ids make log lines long without telling much.
    return path if len(path) <= 80 else path[:77] + "..."


def _reason(exc: httpx.TransportError, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({exc})"
    return f"{type(exc).__name__}: {exc}"
