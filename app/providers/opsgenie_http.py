"""Opsgenie over HTTP: REST v2 with the GenieKey, retries, its throttle window read, failures mapped once."""

from __future__ import annotations

from typing import Any

import httpx

from app.providers import BadResponse, ProviderError
from app.providers import opsgenie_wire as wire
from app.providers.pager_client import Waits, pool, retry_loop
from app.providers.pager_http import AnswerReader, Refusal, Scrubber, Throttle
from app.providers.tuning import Tuning


class OpsgenieHttp(AnswerReader, Waits):
    """One pool on the API host; retries 429 (a short window only), 5xx (not 501) and network errors."""

    pager = "Opsgenie"
    # A per-minute bucket refills too slowly to wait for inside a job; a per-second one is worth it.
    longest_wait = 5.0

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str,
        key_variable: str,
        tuning: Tuning,
    ) -> None:
        Waits.__init__(self, tuning)
        self.base_url = base_url.rstrip("/")
        self._key_variable = key_variable
        self._retrying = retry_loop(
            tuning,
            self.retry_pause,
            Scrubber(()).unreachable("Opsgenie", self.base_url),
            self._throttle,
            server_reason=lambda response: f"HTTP {response.status_code} ({wire.message(response)})",
        )
        headers = {"Authorization": f"GenieKey {api_key}", "Accept": "application/json"}
        self._client = pool(tuning, self.base_url, headers)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def data(
        self, method: str, path: str, *, subject: str, schedule: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The ``data`` object of a successful answer."""
        return self.data_of(self.answer(method, path, subject=subject, schedule=schedule, **kwargs), subject)

    def data_of(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        """The ``data`` object of an answer's JSON; BadResponse when it has none."""
        data = body.get("data")
        if not isinstance(data, dict):
            raise BadResponse(f"Opsgenie's answer about {what} has no 'data' object")
        return data

    def answer(
        self, method: str, path: str, *, subject: str, schedule: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """A successful answer's JSON object; every failure is mapped to one ProviderError."""
        return self.json(self.send(method, path, **kwargs), subject, schedule)

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries on 429, 5xx (not 501) and network errors; give up with a narrow error."""
        return self._retrying.send(lambda: self._client.request(method, path, **kwargs), f"{method} {path}")

    def _throttle(self, response: httpx.Response, attempt: int) -> Throttle:
        period = wire.throttle_period(response.headers)
        sentence = wire.rate_limited(response.headers, period)
        why = f"throttled ({period:g}-second window)"
        return Throttle(self._retrying.delay(attempt), period > self._max_wait, sentence, why)

    def error(self, response: httpx.Response, subject: str, schedule: str | None = None) -> ProviderError:
        """The one narrow exception for a failed answer, as a sentence a human understands."""
        status = response.status_code
        denied = (
            f"Opsgenie refused access to {subject} because of the account's plan (HTTP 402): "
            f"{wire.message(response)}"
            if status == 402
            else f"Opsgenie denied the API key access to {subject} (HTTP 403): a team-owned key only reaches "
            "its own team's schedules and alerts; use a global API integration or one of the owning team"
        )
        kind = "with id" if schedule and wire.is_uuid(schedule) else "named"
        path = response.request.url.path
        return Refusal(
            credentials="Opsgenie rejected the API key (HTTP 401): "
            f"check {self._key_variable} and that the integration is enabled",
            denied=denied,
            no_schedule=f"Opsgenie has no schedule {kind} '{schedule}'",
            wrong_url=f"Opsgenie answered 404 for {path}: is {self.base_url} the right API URL?",
            other=f"Opsgenie refused {subject} (HTTP {status}): {wire.message(response)}",
        ).error(status, schedule)
