"""Slack's rate-limit retry that a stopping process does not wait out."""

from __future__ import annotations

import random

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from app.stopping import Stopping


class StoppableRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's handler (wait Retry-After, then retry), but the wait ends, unretried, when stopping."""

    def __init__(self, stopping: Stopping, max_retry_count: int = 3) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._stopping = stopping

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if self._stopping.is_set():
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)

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
