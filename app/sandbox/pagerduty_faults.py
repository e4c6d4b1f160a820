"""Fault injection for the PagerDuty sandbox: outages, injected statuses, hangs and latency."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.sandbox.opsgenie_api import Reply
from app.sandbox.pagerduty_events import events_error
from app.sandbox.pagerduty_rest import pd_error

if TYPE_CHECKING:
    from app.sandbox.pagerduty import PagerDutySandbox

_MESSAGES = {
    429: "Rate Limit Exceeded",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_CODES = {429: 2020, 500: 2000}


@dataclass
class _Failure:
    status: int
    remaining: int
    path_contains: str | None
    headers: dict[str, str]
    body: bytes | None


class Faults:
    """Injected failures waiting for matching requests; every knob is thread-safe."""

    def __init__(self, sandbox: PagerDutySandbox) -> None:
        self.sandbox = sandbox
        self.stopping = threading.Event()
        self._failures: list[_Failure] = []
        self._hangs: list[float] = []

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        path_contains: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
    ) -> None:
        """Queue ``times`` answers of ``status`` for requests whose path contains ``path_contains``."""
        defaults = {}
        if status == 429 and (path_contains is None or "enqueue" not in path_contains):
            defaults = {"ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "1"}
        raw = body.encode() if isinstance(body, str) else body
        with self.sandbox.lock:
            merged = {**defaults, **(headers or {})}
            self._failures.append(_Failure(status, times, path_contains, merged, raw))

    def hang(self, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` requests sleep ``seconds`` before answering."""
        with self.sandbox.lock:
            self._hangs.extend([seconds] * times)

    def delay(self) -> None:
        """Sleep the latency plus a queued hang; stop() wakes every sleeper at once."""
        with self.sandbox.lock:
            hang = self._hangs.pop(0) if self._hangs else 0.0
        self.stopping.wait(self.sandbox.latency + hang)

    def injected(self, path: str) -> Reply | None:
        """The answer an outage or an injected failure gives this request, if any."""
        events = path.startswith("/v2/enqueue")
        if self.sandbox.down:
            return _answer(503, events)
        with self.sandbox.lock:
            for failure in self._failures:
                if failure.path_contains is None or failure.path_contains in path:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    break
            else:
                return None
        if failure.body is not None:
            return Reply(failure.status, failure.body, dict(failure.headers))
        reply = _answer(failure.status, events)
        reply.headers.update(failure.headers)
        return reply


def _answer(status: int, events: bool) -> Reply:
    message = _MESSAGES.get(status, f"Injected failure {status}")
    if events:
        if status == 429:
            return events_error(429, "throttle event", "Requests for this service are arriving too quickly.")
        return events_error(status, "error", message)
    return pd_error(status, message, _CODES.get(status, 2000))
