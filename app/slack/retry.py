"""Slack's rate-limit retry: every 429 counted by method, and no wait that a stopping process sits out."""

from __future__ import annotations

import random
from collections.abc import Callable

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from app.stopping import Stopping


class StoppableRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's handler (wait Retry-After, then retry), but the wait ends, unretried, when stopping.

    It is also where every 429 is seen, the last one included: ``counted`` hears the method of each.
    """

    def __init__(
        self, stopping: Stopping, max_retry_count: int = 3, counted: Callable[[str], None] | None = None
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._stopping = stopping
        self._counted = counted

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        """Count a 429 by its method; retry it (slack_sdk's limit) unless stopping."""
        if response is not None and response.status_code == 429 and self._counted is not None:
            self._counted(request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0])
        if self._stopping.is_set():
            return False
        return super().can_retry(state=state, request=request, response=response, error=error)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Wait Retry-After (or about a second) unless stopping; without a retry the 429 is the answer."""
        if response is None:
            raise error or RuntimeError("rate-limit retry without a response")
        header = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        try:
            seconds = float(header[0] if isinstance(header, list) else header) if header else 1.0
        except ValueError:
            seconds = 1.0
        if self._stopping.wait(seconds + random.random()):
            return  # next_attempt_requested stays False: slack_sdk returns the 429 to the caller
        state.next_attempt_requested = True
        state.increment_current_attempt()
