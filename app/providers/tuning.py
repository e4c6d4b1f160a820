"""How a pager client waits and gives up: one value, the same keywords for every pager.

A plain value with no HTTP machinery in it, so that the registry can name check's quicker tuning without
importing any pager's client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True, slots=True)
class Tuning:
    """How a pager client waits and gives up, the same keywords for every pager (check's are quicker).

    ``max_throttle_wait``: the longest ``Retry-After`` worth waiting out (None: the pager's own);
    ``email_ttl``: how long a looked-up email is kept; ``sleep``, ``monotonic``, ``transport``: test seams.
    """

    timeout: float = 10.0
    max_retries: int = 4
    backoff: float = 0.5
    max_throttle_wait: float | None = None
    email_ttl: timedelta = timedelta(hours=24)
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    transport: httpx.BaseTransport | None = None

    def throttle_wait(self, default: float) -> float:
        """The longest rate-limit wait: this tuning's, else the pager's ``default``."""
        return default if self.max_throttle_wait is None else self.max_throttle_wait


DEFAULT_TUNING = Tuning()
