"""PagerDuty over HTTP: both hosts, retries, the REST rate limit honoured, every failure mapped once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import httpx

from app.pacing import SlidingWindow
from app.providers import (
    BadCredentials,
    BadResponse,
    ProviderError,
    RateLimited,
)
from app.providers.lean_http import LeanSender
from app.providers.pager_client import Waits, pool, retry_loop
from app.providers.pager_http import (
    AnswerReader,
    Refusal,
    Scrubber,
    Throttle,
    error_body,
)
from app.providers.tuning import Tuning

log = logging.getLogger(__name__)

ACCEPT = "application/vnd.pagerduty+json;version=2"
# PagerDuty allows 960 REST requests a minute per API key: the client keeps under it on its own.
REQUESTS_PER_MINUTE = 960


class RequestBudget(SlidingWindow):
    """Our own requests in a sliding minute, plus the server's word (``ratelimit-*``) on when it is spent."""

    def __init__(self, per_minute: int, monotonic: Callable[[], float]) -> None:
        super().__init__(per_minute, 60.0, monotonic)
        self.blocked_until = 0.0

    def wait(self) -> float:
        """Seconds to wait before the next request may go out (0 when it may go now)."""
        return max(0.0, self.blocked_until - self.clock(), super().wait())

    def learn(self, headers: httpx.Headers) -> float | None:
        """Read ``ratelimit-remaining/reset``; return the reset (seconds) when PagerDuty says it is spent."""
        reset = spent_for(headers)
        if reset is not None:
            self.blocked_until = max(self.blocked_until, self.clock() + reset)
        return reset


def spent_for(headers: httpx.Headers) -> float | None:
    """The seconds until PagerDuty's budget resets when its headers say it is spent; None otherwise."""
    reset = _seconds(headers.get("ratelimit-reset"))
    return reset if reset is not None and headers.get("ratelimit-remaining") == "0" else None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class PagerDutyHttp(AnswerReader, Waits):
    """The REST host (token, versioned Accept) and the Events host (routing key in the body)."""

    pager = "PagerDuty"

    def __init__(
        self,
        token: str,
        *,
        base_url: str,
        events_url: str,
        token_env: str,
        secrets: tuple[str, ...],
        requests_per_minute: int,
        tuning: Tuning,
    ) -> None:
        Waits.__init__(self, tuning)
        self.base_url = base_url.rstrip("/")
        self.events_url = events_url.rstrip("/")
        self.token_env = token_env
        self._scrubber = Scrubber(secrets)
        self._retrying = retry_loop(
            tuning,
            self.retry_pause,
            self._scrubber.unreachable("PagerDuty", self.base_url),
            partial(self._throttle, True),
        )
        self.budget = RequestBudget(requests_per_minute, tuning.monotonic)
        headers = {"Authorization": f"Token token={token}", "Accept": ACCEPT}
        self._rest = pool(tuning, self.base_url, headers)
        self._events = pool(tuning, self.events_url)

    def close(self) -> None:
        """Close both connection pools."""
        self._rest.close()
        self._events.close()

    # -- REST -----------------------------------------------------------------------------------------------

    def rest(
        self, path: str, *, params: Any = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """GET ``path`` within the rate limit, retrying 429, 5xx and network errors; the final answer."""
        return self._send(self._rest, "GET", path, rest=True, params=params, headers=headers)

    def rest_put(self, path: str, *, json: Any, headers: Mapping[str, str]) -> httpx.Response:
        """PUT ``path`` (a status change: repeating it is harmless), like ``rest``; the final answer."""
        return self._send(self._rest, "PUT", path, rest=True, json=json, headers=headers)

    def error(self, response: httpx.Response, subject: str, schedule: str | None = None) -> ProviderError:
        """The one narrow exception for a failed REST answer, as a sentence a human understands."""
        status, detail = response.status_code, _detail(response)
        error = Refusal(
            credentials=f"PagerDuty rejected the API token (HTTP 401): check {self.token_env} "
            "(a REST API key from Integrations → API Access Keys)",
            denied=f"PagerDuty denied the API token access to {subject} (HTTP {status}: {detail}); "
            "a user token sees only what its user may see, an account REST API key (read-only is enough) "
            "sees all",
            no_schedule=f"PagerDuty has no schedule '{schedule}' (by id or exact name)",
            wrong_url=f"PagerDuty answered 404 for {response.request.url.path}: "
            f"is {self.base_url} the right API URL?",
            other=f"PagerDuty refused {subject} (HTTP {status}): {detail}",
            other_retryable=status >= 500,
        ).error(status, schedule)
        return self._scrubber.error(error)

    # -- Events ---------------------------------------------------------------------------------------------

    def enqueue(self, event: dict[str, Any], routing_key_env: str) -> dict[str, Any]:
        """POST one event to ``/v2/enqueue``: its 202 body, or a narrow error (retrying is safe)."""
        response = self._send(self._events, "POST", "/v2/enqueue", rest=False, json=event)
        if response.status_code == 202:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                return body
            raise BadResponse("PagerDuty's Events API accepted the event with an answer that is not JSON")
        detail = _detail(response)
        error: ProviderError
        if response.status_code == 400 and "routing" in detail.lower():
            error = BadCredentials(
                f"PagerDuty's Events API refused the routing key (HTTP 400: {detail}): "
                f"check {routing_key_env} (the Integration Key of an Events API v2 integration "
                "on the service to page)"
            )
        else:
            error = BadResponse(
                f"PagerDuty's Events API refused the event (HTTP {response.status_code}): {detail}"
            )
            error.retryable = response.status_code >= 500
        raise self._scrubber.error(error)

    # -- sending --------------------------------------------------------------------------------------------

    def _send(
        self, client: LeanSender, method: str, path: str, *, rest: bool, **kwargs: Any
    ) -> httpx.Response:
        """Send with retries on 429, 5xx (not 501) and network errors; give up with a narrow error."""

        def request() -> httpx.Response:
            response = client.request(method, path, **kwargs)
            if rest:
                self.budget.learn(response.headers)
            return response

        retrying = replace(
            self._retrying,
            unreachable=self._scrubber.unreachable("PagerDuty", client.base_url),
            throttle=partial(self._throttle, rest),
        )
        return retrying.send(request, f"{method} {path}", before=self._take_budget if rest else None)

    def _take_budget(self) -> None:
        self._within_budget()
        self.budget.made()

    def _throttle(self, rest: bool, response: httpx.Response, attempt: int) -> Throttle:
        reset = spent_for(response.headers) if rest else None
        wait = reset if reset is not None else self._retrying.delay(attempt)
        return Throttle(wait, wait > self._max_wait, self._rate_limited(rest, reset))

    def _within_budget(self) -> None:
        wait = self.budget.wait()
        if wait > self._max_wait:
            raise RateLimited(
                f"PagerDuty's rate limit for this API token is used up for {wait:.0f} s; "
                "the next run will try again"
            )
        if wait > 0:
            self.wait(wait, "keeping under PagerDuty's rate limit")

    def _rate_limited(self, rest: bool, reset: float | None) -> str:
        if not rest:
            return "PagerDuty's Events API is rate limiting this routing key (HTTP 429); the page is retried"
        when = f" for {reset:.0f} s" if reset is not None else ""
        return f"PagerDuty is rate limiting this API token (HTTP 429{when}); the next run will try again"


def _detail(response: httpx.Response) -> str:
    """PagerDuty's own error sentence with its details (REST or Events shape), short enough for a log."""
    body = error_body(response)
    if isinstance(body, str):
        return body
    nested = body.get("error")
    error = nested if isinstance(nested, dict) else body
    message = str(error.get("message") or response.reason_phrase)
    errors = error.get("errors")
    if isinstance(errors, list) and errors:
        message += " (" + "; ".join(str(e) for e in errors) + ")"
    return message[:300]
