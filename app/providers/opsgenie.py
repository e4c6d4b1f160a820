"""The Opsgenie provider: REST v2 over httpx, translated into domain values and narrow errors at the edge."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from app import redaction
from app.domain import AlertRef, AlertRequest, AlertStatus, OnCall, Shift, require_aware
from app.providers import (
    BadResponse,
    ProviderError,
)
from app.providers.pager_http import (
    ClosingProvider,
    Refusal,
    Retrying,
    Scrubber,
    Throttle,
    error_body,
    json_object,
    parse_utc,
    utc_query,
)
from app.stopping import Stopping

log = logging.getLogger(__name__)

# (rotation id, person, start, end): one timeline period of one person.
_Piece = tuple[str, str, datetime, datetime]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
# A per-minute bucket refills too slowly to wait for inside a job; a per-second one is worth retrying.
_MAX_THROTTLE_WAIT = 5.0
_MAX_MESSAGE = 130
_MAX_DESCRIPTION = 15000
# The timeline may answer a shorter window than asked (alignment, DST); we ask again from where it stopped.
_MAX_TIMELINE_PAGES = 24


def is_uuid(identifier: str) -> bool:
    """True when a schedule identifier looks like an Opsgenie id rather than a name."""
    return bool(_UUID.match(identifier))


def format_date(value: datetime) -> str:
    """An aware instant in Opsgenie's query format, always in UTC: ``2024-01-01T08:00:00Z``."""
    return utc_query(value, "date")


def parse_date(value: Any) -> datetime:
    """Opsgenie's ISO timestamp as aware UTC; BadResponse when it is not one."""
    return parse_utc(value, "Opsgenie", "date")


_WINDOW_MARGIN = timedelta(hours=2)


class OpsgenieProvider(ClosingProvider):
    """Who is on call, shifts and alerts from Opsgenie's REST API v2."""

    name = "Opsgenie"
    can_page = True

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.opsgenie.com",
        *,
        web_url: str | None = None,
        key_variable: str = "OPSGENIE_API_KEY",
        timeout: float = 10.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        redaction.register(api_key)  # every pager registers its credential where the redaction lives
        self._stopping: Stopping | None = None
        self._base_url = base_url.rstrip("/")
        self._web_url = web_url.rstrip("/") if web_url else None
        self._key_variable = key_variable
        self._sleep = sleep
        self._retrying = Retrying(
            retries=max_retries,
            timeout=timeout,
            backoff=backoff,
            pause=self._pause,
            unreachable=Scrubber(()).unreachable("Opsgenie", self._base_url),
            throttle=self._throttle,
            server_reason=lambda response: f"HTTP {response.status_code} ({_message(response)})",
        )
        self._http: httpx.Client = httpx.Client(
            base_url=self._base_url,
            headers={"Authorization": f"GenieKey {api_key}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def interrupt_on(self, stopping: Stopping) -> None:
        """Once ``stopping`` is set, retry nothing and wait out no backoff (the process is shutting down)."""
        self._stopping = stopping
        if self._sleep is time.sleep:
            self._sleep = stopping.sleep

    # -- the Provider protocol -----------------------------------------------------------------------------

    def on_call(self, schedule: str, at: datetime) -> OnCall:
        """Who is on call for ``schedule`` at ``at`` (overrides included), deduplicated, order kept."""
        params = {"scheduleIdentifierType": _kind(schedule), "flat": "true", "date": format_date(at)}
        path = f"{_schedule_path(schedule)}/on-calls"
        data = self._data("GET", path, subject=_subject(schedule), schedule=schedule, params=params)
        recipients = data.get("onCallRecipients", [])
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            raise BadResponse(f"Opsgenie sent an unexpected on-call list for schedule '{schedule}'")
        return OnCall(schedule=schedule, at=at.astimezone(UTC), people=tuple(dict.fromkeys(recipients)))

    def shifts(self, schedule: str, start: datetime, end: datetime) -> list[Shift]:
        """The final shifts of ``schedule`` overlapping ``[start, end)``, clipped, by (start, person)."""
        start, end = require_aware(start, "start").astimezone(UTC), require_aware(end, "end").astimezone(UTC)
        if end <= start:
            return []
        pieces: list[_Piece] = []
        cursor = start
        for _ in range(_MAX_TIMELINE_PAGES):
            window_end, page = self._timeline(schedule, cursor, end)
            pieces.extend(page)
            if window_end >= end or window_end <= cursor:
                break
            cursor = window_end
        return _merge(pieces, start, end)

    def check(self) -> None:
        """Raise a ProviderError when the key cannot be used; return quietly otherwise."""
        self._data("GET", "/v2/account", subject="the account")

    def create_alert(self, alert: AlertRequest) -> str:
        """Ask Opsgenie to raise an alert for the schedule's on-call people; return the request id."""
        # Retrying a POST is safe here: Opsgenie deduplicates open alerts on the alias.
        body = self._json("POST", "/v2/alerts", subject="alert creation", json=_alert_body(alert))
        request_id = body.get("requestId")
        if not isinstance(request_id, str) or not request_id:
            raise BadResponse("Opsgenie accepted the alert but sent no request id")
        return request_id

    def alert_status(self, request_id: str) -> AlertStatus:
        """Where an alert request stands: ``done`` False while Opsgenie is still processing it."""
        path = f"/v2/alerts/requests/{quote(request_id, safe='')}"
        response = self._send("GET", path)
        pending = response.headers.get("X-Opsgenie-Errortype") == "RequestNotProcessed"
        if response.status_code == 404 and pending:
            return AlertStatus(done=False, message="Opsgenie is still processing the alert request")
        if response.status_code == 404:
            raise BadResponse(f"Opsgenie knows no alert request '{request_id}' (HTTP 404)")
        subject = f"alert request '{request_id}'"
        data = self._data_of(self._checked(response, subject), subject)
        success = bool(data.get("success", data.get("isSuccess", False)))
        alert_id = data.get("alertId")
        return AlertStatus(
            done=True,
            success=success,
            alert_id=alert_id if isinstance(alert_id, str) and alert_id else None,
            message=str(data.get("status", "")),
        )

    def acknowledge_alert(self, alert: AlertRef, *, note: str | None = None) -> str:
        """Acknowledge the alert (by id when known, else by alias); return Opsgenie's request id."""
        return self._alert_action(alert, "acknowledge", note)

    def close_alert(self, alert: AlertRef, *, note: str | None = None) -> str:
        """Close the alert (by id when known, else by alias); return Opsgenie's request id."""
        return self._alert_action(alert, "close", note)

    def alert_url(self, alert: AlertRef) -> str | None:
        """The alert's page in Opsgenie's web app, when OPSGENIE_WEB_URL is set and the alert id known."""
        if not self._web_url or not alert.alert_id:
            return None
        return f"{self._web_url}/alert/detail/{quote(alert.alert_id, safe='')}/details"

    def _alert_action(self, alert: AlertRef, action: str, note: str | None) -> str:
        identifier, kind = (alert.alert_id, "id") if alert.alert_id else (alert.alias, "alias")
        path = f"/v2/alerts/{quote(identifier, safe='')}/{action}"
        body: dict[str, Any] = {"source": "oncall-bot"}
        if note:
            body["note"] = _trim(note, 25000)
        subject = f"the alert's {action}"
        answer = self._json("POST", path, subject=subject, params={"identifierType": kind}, json=body)
        request_id = answer.get("requestId")
        if not isinstance(request_id, str) or not request_id:
            raise BadResponse(f"Opsgenie accepted {subject} but sent no request id")
        return request_id

    # -- timeline -------------------------------------------------------------------------------------------

    def _timeline(self, schedule: str, start: datetime, end: datetime) -> tuple[datetime, list[_Piece]]:
        """One timeline request from ``start``: where its window ends, and its pieces."""
        # Opsgenie counts days on the schedule's wall clock and drops sub-seconds: ask for a little more
        # (a DST hour, a fraction of a second) so one request covers the window; pieces are clipped anyway.
        days = max(1, math.ceil((end - start + _WINDOW_MARGIN) / timedelta(days=1)))
        params = {
            # Not scheduleIdentifierType: the timeline silently ignores that one and looks up by id.
            "identifierType": _kind(schedule),
            "intervalUnit": "days",
            "interval": str(days),
            "date": format_date(start),
        }
        path = f"{_schedule_path(schedule)}/timeline"
        data = self._data("GET", path, subject=_subject(schedule), schedule=schedule, params=params)
        window_end = parse_date(data["endDate"]) if "endDate" in data else end
        try:
            rotations = (data.get("finalTimeline") or {}).get("rotations") or []
            pieces = [
                piece
                for index, rotation in enumerate(rotations)
                for period in rotation.get("periods") or []
                for piece in _period_pieces(str(rotation.get("id") or rotation.get("name") or index), period)
            ]
        except (AttributeError, KeyError, TypeError) as exc:
            raise BadResponse(f"Opsgenie sent a timeline we cannot read for schedule '{schedule}'") from exc
        return window_end, pieces

    # -- HTTP -----------------------------------------------------------------------------------------------

    def _data(
        self, method: str, path: str, *, subject: str, schedule: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The ``data`` object of a successful answer."""
        return self._data_of(self._json(method, path, subject=subject, schedule=schedule, **kwargs), subject)

    def _data_of(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        data = body.get("data")
        if not isinstance(data, dict):
            raise BadResponse(f"Opsgenie's answer about {what} has no 'data' object")
        return data

    def _json(
        self, method: str, path: str, *, subject: str, schedule: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """A successful answer's JSON object; every failure is mapped to one ProviderError."""
        return self._checked(self._send(method, path, **kwargs), subject, schedule)

    def _checked(self, response: httpx.Response, subject: str, schedule: str | None = None) -> dict[str, Any]:
        if response.status_code >= 400:
            raise self._error(response, schedule, subject)
        return json_object(response, "Opsgenie")

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries on 429, 5xx (not 501) and network errors; give up with a narrow error."""
        return self._retrying.send(lambda: self._http.request(method, path, **kwargs), f"{method} {path}")

    def _throttle(self, response: httpx.Response, attempt: int) -> Throttle:
        period = _throttle_period(response.headers)
        sentence = _rate_limited(response.headers, period)
        why = f"throttled ({period:g}-second window)"
        return Throttle(self._retrying.delay(attempt), period > _MAX_THROTTLE_WAIT, sentence, why)

    def _pause(self, attempt: int, seconds: float, why: str) -> None:
        self._unless_stopping(why)
        log.warning("Opsgenie: %s; retry %d/%d in %.2f s", why, attempt + 1, self._retrying.retries, seconds)
        self._sleep(seconds)
        self._unless_stopping(why)

    def _unless_stopping(self, why: str) -> None:
        if self._stopping is not None and self._stopping.is_set():
            raise self._retrying.unreachable(f"{why}; not retried because the bot is stopping")

    def _error(self, response: httpx.Response, schedule: str | None, subject: str) -> ProviderError:
        """The one narrow exception for a failed answer, as a sentence a human understands."""
        status = response.status_code
        denied = (
            f"Opsgenie refused access to {subject} because of the account's plan (HTTP 402): "
            f"{_message(response)}"
            if status == 402
            else f"Opsgenie denied the API key access to {subject} (HTTP 403): a team-owned key only reaches "
            "its own team's schedules and alerts; use a global API integration or one of the owning team"
        )
        kind = "with id" if schedule and is_uuid(schedule) else "named"
        path = response.request.url.path
        return Refusal(
            credentials="Opsgenie rejected the API key (HTTP 401): "
            f"check {self._key_variable} and that the integration is enabled",
            denied=denied,
            no_schedule=f"Opsgenie has no schedule {kind} '{schedule}'",
            wrong_url=f"Opsgenie answered 404 for {path}: is {self._base_url} the right API URL?",
            other=f"Opsgenie refused {subject} (HTTP {status}): {_message(response)}",
        ).error(status, schedule)


def _subject(schedule: str) -> str:
    return f"schedule '{schedule}'"


def _kind(schedule: str) -> str:
    return "id" if is_uuid(schedule) else "name"


def _schedule_path(schedule: str) -> str:
    # safe="" so a '/' or '?' in a schedule name stays inside the path segment.
    return f"/v2/schedules/{quote(schedule, safe='')}"


def _alert_body(alert: AlertRequest) -> dict[str, Any]:
    """Opsgenie's create-alert JSON, trimmed to its documented limits instead of failing with 422."""
    responder_key = "id" if is_uuid(alert.schedule) else "name"
    body: dict[str, Any] = {
        "message": _trim(alert.message, _MAX_MESSAGE),
        "description": _trim(alert.description, _MAX_DESCRIPTION),
        "alias": alert.alias,
        "responders": [{"type": "schedule", responder_key: alert.schedule}],
        "priority": alert.priority,
        "source": alert.source,
    }
    if alert.tags:
        body["tags"] = list(alert.tags)
    if alert.details:
        body["details"] = dict(alert.details)
    if alert.user is not None:
        body["user"] = alert.user
    if alert.note is not None:
        body["note"] = alert.note
    return body


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _period_pieces(rotation: str, period: Mapping[str, Any]) -> list[_Piece]:
    """A timeline period as pieces: one per user (a team recipient via its flattened users)."""
    recipient = period.get("recipient") or {}
    if recipient.get("type") == "user":
        people = [recipient.get("name")]
    else:
        people = [r.get("name") for r in period.get("flattenedRecipients") or [] if r.get("type") == "user"]
    start, end = parse_date(period["startDate"]), parse_date(period["endDate"])
    return [(rotation, person, start, end) for person in people if isinstance(person, str) and person]


def _merge(pieces: list[_Piece], start: datetime, end: datetime) -> list[Shift]:
    """Join touching periods of one person in one rotation, clip to ``[start, end)``, sort."""
    merged: list[list[Any]] = []
    for rotation, person, lo, hi in sorted(pieces):
        previous = merged[-1] if merged else None
        if previous and previous[0] == rotation and previous[1] == person and lo <= previous[3]:
            previous[3] = max(previous[3], hi)
        else:
            merged.append([rotation, person, lo, hi])
    shifts = {
        Shift(person=person, start=max(lo, start), end=min(hi, end))
        for _, person, lo, hi in merged
        if min(hi, end) > max(lo, start)
    }
    return sorted(shifts, key=lambda s: (s.start, s.person, s.end))


def _message(response: httpx.Response) -> str:
    """Opsgenie's own error sentence (with its field errors), short enough for a log line."""
    body = error_body(response)
    if isinstance(body, str):
        return body
    message = str(body.get("message") or response.reason_phrase)
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        message += " (" + "; ".join(f"{k}: {v}" for k, v in errors.items()) + ")"
    return message[:300]


def _throttle_period(headers: httpx.Headers) -> float:
    try:
        return float(headers.get("X-RateLimit-Period-In-Sec", "1"))
    except ValueError:
        return 1.0


def _rate_limited(headers: httpx.Headers, period: float) -> str:
    reason = headers.get("X-RateLimit-Reason", "unknown bucket")
    return (
        f"Opsgenie is rate limiting this key ({reason}, {period:g}-second window); "
        "the next run will try again"
    )
