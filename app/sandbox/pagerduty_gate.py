"""The PagerDuty sandbox's REST gate: token and Accept header checked, 960 requests a minute per token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from app.sandbox.opsgenie_api import Reply
from app.sandbox.pagerduty_rest import pd_error

if TYPE_CHECKING:
    from app.sandbox.pagerduty import PagerDutySandbox

ACCEPT = "application/vnd.pagerduty+json;version=2"


class Gate:
    """Authentication and the per-token sliding one-minute window."""

    def __init__(self, sandbox: PagerDutySandbox) -> None:
        self.sandbox = sandbox
        self._calls: dict[str, list[float]] = {}  # token -> monotonic times within the last minute

    def authenticate(self, headers: Mapping[str, str]) -> Reply | None:
        """401 (code 2006) for a wrong token, 406 without the versioned Accept header; None when fine."""
        if headers.get("authorization", "") != f"Token token={self.sandbox.api_token}":
            return pd_error(401, "Invalid Credentials", 2006)
        accept = headers.get("accept", "")
        if ACCEPT not in accept and "application/json" not in accept:
            message = f"Not Acceptable: send the header Accept: {ACCEPT}"
            return pd_error(406, message, 2001)
        return None

    def _token(self, headers: Mapping[str, str]) -> str:
        return headers.get("authorization", "").removeprefix("Token token=")

    def _window(self, token: str) -> list[float]:
        """The token's requests in the last minute (pruned)."""
        now = self.sandbox.monotonic()
        calls = [t for t in self._calls.get(token, []) if t > now - 60]
        self._calls[token] = calls
        return calls

    def throttle(self, headers: Mapping[str, str]) -> Reply | None:
        """429 (code 2020) once the token made ``rate_limit`` requests in the last minute; else count it."""
        with self.sandbox.lock:
            calls = self._window(self._token(headers))
            if len(calls) >= self.sandbox.rate_limit:
                reply = pd_error(429, "Rate Limit Exceeded", 2020)
                reply.headers.update(self.rate_headers(headers))
                return reply
            calls.append(self.sandbox.monotonic())
        return None

    def rate_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The ``ratelimit-limit/remaining/reset`` headers every REST answer carries."""
        with self.sandbox.lock:
            calls = self._window(self._token(headers))
            reset = max(1, int(calls[0] + 60 - self.sandbox.monotonic() + 0.999)) if calls else 60
            remaining = max(0, self.sandbox.rate_limit - len(calls))
        return {
            "ratelimit-limit": str(self.sandbox.rate_limit),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset),
        }
