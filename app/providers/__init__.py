"""The pager interface: the only place the rest of the app learns who is on call.

Adding a pager is three steps:

1. A module here (``app/providers/<kind>.py``) with a class that satisfies ``Provider`` below: it
   translates the pager's JSON into domain values and maps every failure to one of the narrow
   ``ProviderError`` subclasses, with a sentence a human understands.
2. One ``ProviderKind`` entry in ``app/providers/registry.py``: its ``kind`` (what a team writes as
   ``provider = "..."``), ``credentials(settings, team)`` (the secrets that identify one client, or a
   ``MissingCredentials`` naming the env var to set) and ``build(settings, team, tuning)`` (the
   provider; ``tuning`` is timeouts and retries, quicker for `oncall-bot check`). The built-in kinds'
   credentials and builders live in ``app/providers/builders.py``. ``register()`` adds an entry;
   ``known_kinds()`` is what the teams file accepts.
3. A sandbox server under ``app/sandbox/`` speaking the pager's wire format, for the tests and the demo.

Everything else asks ``runtime.providers.for_team(team)``; teams whose credentials are equal share one
client. A provider that cannot page (the built-in rotation) says so with ``can_page = False``; the
escalation then DMs the on-call people instead of calling ``create_alert``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app.domain import AlertRef, AlertRequest, AlertState, AlertStatus, OnCall, Shift
from app.redaction import redact


class ProviderError(Exception):
    """A pager call failed; ``str(error)`` is a sentence a human understands, never holding a secret."""

    retryable: bool = True

    def __init__(self, message: str) -> None:
        # Redacted once, here: this sentence goes to the channel, the database, the CLI and the logs.
        super().__init__(redact(message))


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


class NotSupported(ProviderError):
    """The pager has no such call (PagerDuty's Events API takes no notes): check the capability first."""

    retryable = False


class Provider(Protocol):
    """What every pager (Opsgenie, JSM, PagerDuty, built-in rotation) offers the bot."""

    name: str  # how the bot names the pager to people: "Opsgenie", "the rotation"
    can_page: bool  # False: create_alert and the other alert calls are never made
    can_note: bool  # False: add_note is never made (the pager takes no notes on an alert)

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

    def acknowledge_alert(
        self, alert: AlertRef, *, note: str | None = None, user: str | None = None, email: str | None = None
    ) -> str:
        """Acknowledge the alert (by its id when known, else its alias); return the pager's request id.

        ``user`` is who did it, credited at the pager where it has a field for it (Opsgenie's ``user``;
        JSM learns it from ``note``). ``email`` is their address where known: PagerDuty credits the
        PagerDuty user with that email (its REST API's ``From``), else acts through the Events API, unnamed.
        """
        ...

    def close_alert(
        self, alert: AlertRef, *, note: str | None = None, user: str | None = None, email: str | None = None
    ) -> str:
        """Close (resolve) the alert; return the pager's request id."""
        ...

    def alert_state(self, alert: AlertRef) -> AlertState | None:
        """The alert as the pager has it now (by its id when known, else its alias); None: it has none.

        Read back to learn that an alert was closed outside Slack, and before creating an alert whose
        earlier create may have landed (a timeout, a crash), so that it is not raised twice.
        """
        ...

    def add_note(self, alert: AlertRef, note: str, *, user: str | None = None) -> str:
        """Add ``note`` to the alert (a follow-up in its Slack thread); return the pager's request id."""
        ...

    def alert_url(self, alert: AlertRef) -> str | None:
        """A web address where a person can open the alert, or None when the pager gives none."""
        ...

    def close(self) -> None:
        """Release the provider's connections."""
        ...
