"""The pager interface: the only place the rest of the app learns who is on call."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app.domain import AlertRequest, AlertStatus, OnCall, Shift


class ProviderError(Exception):
    """A pager call failed; ``str(error)`` is a sentence a human understands."""

    retryable: bool = True


class BadCredentials(ProviderError):
    """The API key is wrong, disabled or missing."""

    retryable = False


class AccessDenied(ProviderError):
    """The key is valid but may not read this schedule (or raise this alert)."""

    retryable = False


class ScheduleNotFound(ProviderError):
    """The pager has no schedule with that name or id."""

    retryable = False


class RateLimited(ProviderError):
    """The pager kept answering 429 after our retries."""


class Unreachable(ProviderError):
    """The pager could not be reached, timed out, or answered 5xx after our retries."""


class BadResponse(ProviderError):
    """The pager answered something we could not understand."""


class Provider(Protocol):
    """What every pager (Opsgenie, JSM, PagerDuty, built-in rotation) offers the bot."""

    name: str

    def on_call(self, schedule: str, at: datetime) -> OnCall:
        """Who is on call for ``schedule`` at ``at`` (overrides included)."""
        ...

    def shifts(self, schedule: str, start: datetime, end: datetime) -> list[Shift]:
        """The final shifts of ``schedule`` overlapping ``[start, end)``, sorted by start."""
        ...

    def check(self) -> None:
        """Raise a ProviderError when the key cannot be used; return quietly otherwise."""
        ...

    def create_alert(self, alert: AlertRequest) -> str:
        """Ask the pager to raise an alert; return the pager's request id."""
        ...

    def alert_status(self, request_id: str) -> AlertStatus:
        """Follow an alert request until the pager has processed it."""
        ...

    def close(self) -> None:
        """Release the provider's connections."""
        ...
