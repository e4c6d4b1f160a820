"""What every pager's HTTP client shares: retries, refusals, the JSON object check, times.

Each client keeps what is its own (how a 429 is read, how giving up is worded); its waits and its closing
are ``pager_client``'s;
the loop decides once, for all of them, what is retried: 429, 5xx except 501, and network errors.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from app.domain import require_aware
from app.providers import (
    AccessDenied,
    BadCredentials,
    BadResponse,
    ProviderError,
    RateLimited,
    ScheduleNotFound,
    Unreachable,
)


@dataclass(frozen=True, slots=True)
class Throttle:
    """What one 429 means: how long to wait, whether that is too long, and the sentence when giving up."""

    wait: float
    give_up: bool
    sentence: str
    why: str = "throttled (HTTP 429)"


@dataclass(frozen=True, slots=True)
class Retrying:
    """How one client retries: ``pause(attempt, seconds, why)`` waits (and logs); the rest words failures."""

    retries: int
    timeout: float
    backoff: float
    pause: Callable[[int, float, str], None]
    unreachable: Callable[[str], ProviderError]
    throttle: Callable[[httpx.Response, int], Throttle]
    server_reason: Callable[[httpx.Response], str] = lambda response: f"HTTP {response.status_code}"

    def delay(self, attempt: int) -> float:
        """The jittered backoff before retry ``attempt + 1``."""
        return jittered(self.backoff, attempt)

    def send(
        self, request: Callable[[], httpx.Response], label: str, before: Callable[[], None] | None = None
    ) -> httpx.Response:
        """The final answer of ``request`` (``before`` runs ahead of each try); a narrow error otherwise."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            if before is not None:
                before()
            try:
                response = request()
            except httpx.TransportError as exc:
                if last or isinstance(exc, httpx.UnsupportedProtocol):
                    raise self.unreachable(transport_reason(exc, self.timeout)) from None
                self.pause(attempt, self.delay(attempt), f"{label} failed ({type(exc).__name__})")
                continue
            status = response.status_code
            if status == 429:
                throttled = self.throttle(response, attempt)
                if last or throttled.give_up:
                    raise RateLimited(throttled.sentence)
                self.pause(attempt, throttled.wait, f"{label} {throttled.why}")
                continue
            if status >= 500 and status != 501:
                if last:
                    reason = f"{self.server_reason(response)} after {self.retries + 1} attempts"
                    raise self.unreachable(reason)
                self.pause(attempt, self.delay(attempt), f"{label} answered HTTP {status}")
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises


def jittered(backoff: float, attempt: int) -> float:
    """``backoff`` doubled per attempt, plus up to 10 % so several replicas do not retry in lockstep."""
    return backoff * 2.0**attempt * random.uniform(1.0, 1.1)


def transport_reason(exc: httpx.TransportError, timeout: float) -> str:
    """Why the pager could not be reached, in a few words."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({exc})"
    return f"{type(exc).__name__}: {exc}"


class AnswerReader:
    """A pager client's reading of answers: the JSON object of a success, its own ``error`` otherwise."""

    pager: str  # how sentences name the pager: "JSM", "PagerDuty"

    def error(self, response: httpx.Response, subject: str, schedule: str | None = None) -> ProviderError:
        """The one narrow exception for a failed answer (each client words its own)."""
        raise NotImplementedError

    def json(self, response: httpx.Response, subject: str, schedule: str | None = None) -> dict[str, Any]:
        """A successful answer's JSON object; every failure becomes one narrow ProviderError."""
        if response.status_code >= 400:
            raise self.error(response, subject, schedule)
        return json_object(response, self.pager)


def error_body(response: httpx.Response) -> dict[str, Any] | str:
    """The JSON object of a failed answer, or the few words to say when it has none."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    return body if isinstance(body, dict) else f"HTTP {response.status_code}"


def json_object(response: httpx.Response, pager: str) -> dict[str, Any]:
    """The JSON object of a successful answer; BadResponse naming ``pager`` when it is not one."""
    try:
        body = response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type")
        raise BadResponse(
            f"{pager} answered HTTP {response.status_code} with something that is not JSON ({kind})"
        ) from None
    if not isinstance(body, dict):
        raise BadResponse(f"{pager} answered HTTP {response.status_code} with JSON that is not an object")
    return body


@dataclass(frozen=True, slots=True)
class Refusal:
    """One pager's sentences for a refused answer, by what went wrong (each already names the fix)."""

    credentials: str  # 401: the key or token is wrong
    denied: str  # 402/403: valid, but may not see this
    no_schedule: str  # 404 asking for a schedule
    wrong_url: str  # any other 404: the API URL is off
    other: str  # anything else
    other_retryable: bool | None = None  # None: ProviderError's default

    def error(self, status: int, schedule: str | None) -> ProviderError:
        """The one narrow exception for ``status``."""
        if status == 401:
            return BadCredentials(self.credentials)
        if status in (402, 403):
            return AccessDenied(self.denied)
        if status == 404:
            return ScheduleNotFound(self.no_schedule) if schedule else BadResponse(self.wrong_url)
        error = BadResponse(self.other)
        if self.other_retryable is not None:
            error.retryable = self.other_retryable
        return error


@dataclass(frozen=True, slots=True)
class Scrubber:
    """Belt and braces: no credential reaches a message, whatever the server echoes."""

    secrets: tuple[str, ...]

    def text(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def error(self, error: ProviderError) -> ProviderError:
        """``error`` with every secret taken out of its sentence (its retryability kept)."""
        scrubbed = type(error)(self.text(str(error)))
        scrubbed.retryable = error.retryable
        return scrubbed

    def unreachable(self, pager: str, where: object) -> Callable[[str], ProviderError]:
        """How to say that ``pager`` at ``where`` could not be reached, given the reason."""
        return lambda reason: Unreachable(self.text(f"{pager} unreachable at {where}: {reason}"))


def utc_query(value: datetime, what: str) -> str:
    """An aware instant in the pagers' query format, always UTC: ``2024-01-01T08:00:00Z``."""
    return require_aware(value, what).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(value: Any, pager: str, what: str = "date") -> datetime:
    """A pager's ISO timestamp (any offset) as aware UTC; BadResponse naming ``pager`` when it is not one."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise BadResponse(f"{pager} sent a {what} we cannot read: {value!r}") from None
    if parsed.tzinfo is None:
        raise BadResponse(f"{pager} sent a {what} without a time zone: {value!r}")
    return parsed.astimezone(UTC)
