"""JSM over HTTP: the API host (Ops REST API, integration API) and the Jira site, every failure mapped once.

Retries 429 (waiting what ``Retry-After`` says, when that is short), 5xx (not 501) and network errors
with backoff; gives up with one narrow ProviderError whose sentence names what to fix and never a secret.
"""

from __future__ import annotations

import email.utils
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx

from app.providers import (
    BadCredentials,
    ProviderError,
)
from app.providers.lean_http import LeanSender, basic_auth
from app.providers.pager_client import Waits, pool, retry_loop
from app.providers.pager_http import (
    AnswerReader,
    Refusal,
    Scrubber,
    Throttle,
    error_body,
)
from app.providers.tuning import Tuning


class JsmHttp(AnswerReader, Waits):
    """One pool per host; Basic auth (account email + API token) or an integration's GenieKey per call."""

    pager = "JSM"

    def __init__(
        self,
        email: str,
        api_token: str,
        *,
        api_url: str,
        site_url: str,
        integration_key: str | None,
        secrets: tuple[str, ...],
        tuning: Tuning,
    ) -> None:
        Waits.__init__(self, tuning)
        self.api_url = api_url.rstrip("/")
        self.site_url = site_url.rstrip("/")
        self.email = email
        self._basic = basic_auth(email, api_token)  # the header, built once
        self._genie = {"Authorization": f"GenieKey {integration_key}"} if integration_key else None
        self._scrubber = Scrubber(secrets)
        self._retrying = retry_loop(
            tuning, self.retry_pause, self._scrubber.unreachable("JSM", self.api_url), self._throttle
        )
        accept = {"Accept": "application/json"}
        self._api = pool(tuning, self.api_url, accept)
        self._site = pool(tuning, self.site_url, accept)

    def close(self) -> None:
        """Close both connection pools."""
        self._api.close()
        self._site.close()

    # -- the calls ------------------------------------------------------------------------------------------
    def ops(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to the Ops REST API (``path`` from ``/jsm/ops/api/...``), as the account."""
        return self._send(self._api, method, path, headers=self._basic, **kwargs)

    def integration(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to the integration API (``path`` under ``/jsm/ops/integration``), with its key."""
        if self._genie is None:
            raise BadCredentials("JSM_INTEGRATION_KEY is not set")
        return self._send(self._api, method, path, headers=self._genie, **kwargs)

    def site(self, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        """A GET on the Jira site (the user API as the account, or the public tenant_info)."""
        return self._send(self._site, "GET", path, headers=self._basic if auth else None, **kwargs)

    # -- answers --------------------------------------------------------------------------------------------
    def error(self, response: httpx.Response, subject: str, schedule: str | None = None) -> ProviderError:
        """The one narrow exception for a failed answer, as a sentence a human understands."""
        status, detail = response.status_code, _detail(response)
        genie = response.request.headers.get("Authorization", "").startswith("GenieKey")
        credentials = (
            "JSM rejected the integration key (HTTP 401): check JSM_INTEGRATION_KEY (the API key of an "
            "enabled API integration, in the team's Operations → Integrations)"
            if genie
            else f"JSM rejected the credentials of {self.email} (HTTP 401): check JSM_EMAIL and "
            "JSM_API_TOKEN (an API token of that Atlassian account, from id.atlassian.com → Security → "
            "API tokens)"
        )
        error = Refusal(
            credentials=credentials,
            denied=f"JSM denied {self.email} access to {subject} (HTTP {status}: {detail}); the "
            "Operations API takes a real user (not a service account) who may see the schedule's team",
            no_schedule=f"JSM has no schedule with id '{schedule}' that {self.email} can see",
            wrong_url=f"JSM answered 404 for {response.request.url.path}: check JSM_API_URL, "
            "JSM_SITE_URL and JSM_CLOUD_ID",
            other=f"JSM refused {subject} (HTTP {status}): {detail}",
            other_retryable=status >= 500,
        ).error(status, schedule)
        return self.scrubbed(error)

    # -- sending --------------------------------------------------------------------------------------------
    def _send(self, client: LeanSender, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries on 429, 5xx (not 501) and network errors; give up with a narrow error."""
        retrying = replace(self._retrying, unreachable=self._scrubber.unreachable("JSM", client.base_url))
        return retrying.send(lambda: client.request(method, path, **kwargs), f"{method} {_short(path)}")

    def _throttle(self, response: httpx.Response, attempt: int) -> Throttle:
        wait = retry_after(response.headers)
        wait = self._retrying.delay(attempt) if wait is None else wait
        sentence = (
            f"JSM is rate limiting {self.email} (HTTP 429, retry after {wait:.0f} s); "
            "the next run will try again"
        )
        return Throttle(wait, wait > self._max_wait, sentence)

    def scrubbed(self, error: ProviderError) -> ProviderError:
        """``error`` with every secret taken out of its sentence."""
        return self._scrubber.error(error)


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
    body = error_body(response)
    if isinstance(body, str):
        return body
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
