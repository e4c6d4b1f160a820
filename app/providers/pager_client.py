"""What every pager client object shares: its tuning, its waits (cut short once the bot stops), closing.

A backoff, a ``Retry-After`` or a rate budget is waited out through ``Waits.wait``: logged once, and given
up with Unreachable when the bot is stopping, so that a pager never holds up a shutdown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol, Self

import httpx

from app.providers import ProviderError, Unreachable
from app.providers.lean_http import LeanSender
from app.providers.pager_http import Retrying, Throttle
from app.providers.tuning import Tuning
from app.stopping import Stopping

log = logging.getLogger(__name__)


def retry_loop(
    tuning: Tuning,
    pause: Callable[[int, float, str], None],
    unreachable: Callable[[str], ProviderError],
    throttle: Callable[[httpx.Response, int], Throttle],
    **wording: Callable[[httpx.Response], str],
) -> Retrying:
    """The retry loop of a client with ``tuning`` (``wording``: how it names a server's failure)."""
    return Retrying(
        tuning.max_retries, tuning.timeout, tuning.backoff, pause, unreachable, throttle, **wording
    )


def pool(tuning: Tuning, base_url: str, headers: Mapping[str, str] | None = None) -> LeanSender:
    """A long-lived connection pool on ``base_url`` with the tuning's timeout and transport (keep-alive)."""
    return LeanSender(
        httpx.Client(base_url=base_url, headers=headers, timeout=tuning.timeout, transport=tuning.transport)
    )


class Waits:
    """A pager client's waits; ``pager`` names it in logs and sentences ("Opsgenie", "JSM", "PagerDuty")."""

    pager: str
    longest_wait = 15.0  # the longest Retry-After worth waiting out, unless the tuning says

    def __init__(self, tuning: Tuning) -> None:
        self._sleep = tuning.sleep
        self._max_wait = tuning.throttle_wait(self.longest_wait)
        self._stopping: Stopping | None = None

    def interrupt_on(self, stopping: Stopping) -> None:
        """Once ``stopping`` is set, retry nothing and wait out no backoff (the process is shutting down)."""
        self._stopping = stopping
        if self._sleep is time.sleep:
            self._sleep = stopping.sleep

    def wait(self, seconds: float, why: str) -> None:
        """Wait ``seconds`` (logged with ``why``) unless the bot is stopping: then give up, Unreachable."""
        self._unless_stopping(why)
        log.warning("%s: %s; waiting %.2f s", self.pager, why, seconds)
        self._sleep(seconds)
        self._unless_stopping(why)

    def retry_pause(self, _attempt: int, seconds: float, why: str) -> None:
        """``Retrying``'s pause: the wait before the next try."""
        self.wait(seconds, why)

    def _unless_stopping(self, why: str) -> None:
        if self._stopping is not None and self._stopping.is_set():
            raise Unreachable(f"{self.pager}: {why}; not retried because the bot is stopping")


class SupportsClose(Protocol):
    """Anything holding connections that ``close()`` releases."""

    def close(self) -> None:
        """Release the connections."""
        ...


class ClosingProvider:
    """``close()`` releasing the provider's HTTP client (``_http``), and ``with`` support that calls it."""

    _http: SupportsClose

    def close(self) -> None:
        """Close the HTTP connection pools."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
