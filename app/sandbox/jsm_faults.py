"""Fault injection for the JSM sandbox (outages, injected statuses, hangs), and its error bodies.

The Ops API answers errors as ``{"errors": [{"code", "title"}]}``; Atlassian's gateway in front of it
answers 401, 429 and 5xx as ``{"code", "message"}`` (429 with ``Retry-After`` in seconds); Jira's site
answers ``{"errorMessages": [...], "errors": {}}``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.sandbox.opsgenie_api import Reply

if TYPE_CHECKING:
    from app.sandbox.jsm import JsmSandbox

_MESSAGES = {
    429: "Rate limit exceeded",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def ops_error(status: int, title: str, code: str = "") -> Reply:
    """The Ops API's error body."""
    return Reply(status, {"errors": [{"code": code or _code(status), "title": title}]})


def gateway_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    """The API gateway's error body (authentication, throttling, outages)."""
    return Reply(status, {"code": status, "message": message}, dict(headers or {}))


def jira_error(status: int, message: str) -> Reply:
    """Jira's error body."""
    return Reply(status, {"errorMessages": [message], "errors": {}})


def _code(status: int) -> str:
    return {400: "BAD_REQUEST", 403: "FORBIDDEN", 404: "NOT_FOUND", 422: "UNPROCESSABLE_ENTITY"}.get(
        status, "ERROR"
    )


@dataclass
class _Failure:
    status: int
    remaining: int
    path_contains: str | None
    headers: dict[str, str]
    body: bytes | None


class Faults:
    """Injected failures waiting for matching requests; every knob is thread-safe."""

    def __init__(self, sandbox: JsmSandbox) -> None:
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
        defaults = {"Retry-After": "1"} if status == 429 else {}
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

    def injected(self, role: str, path: str) -> Reply | None:
        """The answer an outage or an injected failure gives this request, if any."""
        if self.sandbox.down:
            return _answer(role, 503, {})
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
        return _answer(role, failure.status, failure.headers)


def _answer(role: str, status: int, headers: Mapping[str, str]) -> Reply:
    message = _MESSAGES.get(status, f"Injected failure {status}")
    if role == "site" and status < 500 and status != 429:
        reply = jira_error(status, message)
    elif status in (401, 429) or status >= 500:
        reply = gateway_error(status, message)
    else:
        reply = ops_error(status, message)
    reply.headers.update(headers)
    return reply
