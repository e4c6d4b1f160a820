"""Opsgenie's wire format: identifiers, dates, the alert body, timeline periods and error words."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from app.domain import AlertRequest, AlertState
from app.providers import BadResponse
from app.providers.pager_http import error_body, parse_utc, utc_query
from app.providers.pieces import Piece

# (rotation id, person, start, end): one timeline period of one person.

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_MAX_MESSAGE = 130
_MAX_DESCRIPTION = 15000


def is_uuid(identifier: str) -> bool:
    """True when a schedule identifier looks like an Opsgenie id rather than a name."""
    return bool(_UUID.match(identifier))


def format_date(value: datetime) -> str:
    """An aware instant in Opsgenie's query format, always in UTC: ``2024-01-01T08:00:00Z``."""
    return utc_query(value, "date")


def parse_date(value: Any) -> datetime:
    """Opsgenie's ISO timestamp as aware UTC; BadResponse when it is not one."""
    return parse_utc(value, "Opsgenie", "date")


def subject(schedule: str) -> str:
    """How sentences name the schedule."""
    return f"schedule '{schedule}'"


def kind(schedule: str) -> str:
    """Opsgenie's identifierType for the schedule: "id" or "name"."""
    return "id" if is_uuid(schedule) else "name"


def schedule_path(schedule: str) -> str:
    """The API path of the schedule, the identifier quoted as one path segment."""
    # safe="" so a '/' or '?' in a schedule name stays inside the path segment.
    return f"/v2/schedules/{quote(schedule, safe='')}"


def alert_body(alert: AlertRequest) -> dict[str, Any]:
    """Opsgenie's create-alert JSON, trimmed to its documented limits instead of failing with 422."""
    responder_key = "id" if is_uuid(alert.schedule) else "name"
    body: dict[str, Any] = {
        "message": trim(alert.message, _MAX_MESSAGE),
        "description": trim(alert.description, _MAX_DESCRIPTION),
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


def trim(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def period_pieces(rotation: str, period: Mapping[str, Any]) -> list[Piece]:
    """A timeline period as pieces: one per user (a team recipient via its flattened users)."""
    recipient = period.get("recipient") or {}
    if recipient.get("type") == "user":
        people = [recipient.get("name")]
    else:
        people = [r.get("name") for r in period.get("flattenedRecipients") or [] if r.get("type") == "user"]
    start, end = parse_date(period["startDate"]), parse_date(period["endDate"])
    return [(rotation, person, start, end) for person in people if isinstance(person, str) and person]


def message(response: httpx.Response) -> str:
    """Opsgenie's own error sentence (with its field errors), short enough for a log line."""
    body = error_body(response)
    if isinstance(body, str):
        return body
    message = str(body.get("message") or response.reason_phrase)
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        message += " (" + "; ".join(f"{k}: {v}" for k, v in errors.items()) + ")"
    return message[:300]


def throttle_period(headers: httpx.Headers) -> float:
    """The seconds of the rate-limit window a 429 names (1 when it names none)."""
    try:
        return float(headers.get("X-RateLimit-Period-In-Sec", "1"))
    except ValueError:
        return 1.0


def rate_limited(headers: httpx.Headers, period: float) -> str:
    """The sentence for giving up on a 429."""
    reason = headers.get("X-RateLimit-Reason", "unknown bucket")
    return (
        f"Opsgenie is rate limiting this key ({reason}, {period:g}-second window); "
        "the next run will try again"
    )


def alert_state(data: Mapping[str, Any]) -> AlertState:
    """An alert as Opsgenie (or JSM, which kept its shape) shows it: status, acknowledged, report."""
    alert_id, status = data.get("id"), data.get("status")
    if not isinstance(alert_id, str) or not alert_id or status not in ("open", "closed"):
        raise BadResponse("the pager sent an alert we cannot read (no id or status)")
    found = data.get("report")
    report: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    if status == "closed":
        by = report.get("closedBy")
        return AlertState(alert_id, "closed", by=str(by) if by else None)
    if data.get("acknowledged"):
        by = report.get("acknowledgedBy")
        return AlertState(alert_id, "acknowledged", by=str(by) if by else None)
    return AlertState(alert_id, "open")
