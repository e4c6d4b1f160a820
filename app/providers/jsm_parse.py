"""JSM Operations JSON in, domain-shaped values out (and the alert body): pure functions, no HTTP."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.domain import AlertRequest, AlertStatus
from app.providers import BadResponse
from app.providers.pager_http import parse_utc, utc_query
from app.providers.pieces import Piece

MAX_MESSAGE = 130
MAX_DESCRIPTION = 15000
MAX_ALIAS = 512
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)

# (rotation, account id, start, end): one timeline period of one person.


def looks_like_id(schedule: str) -> bool:
    """True when a team's ``schedule`` setting is a JSM schedule id (a UUID) rather than a name."""
    return bool(_UUID.match(schedule.strip()))


def format_date(value: datetime) -> str:
    """An aware instant as JSM's ISO 8601 query format, always UTC: ``2024-01-01T08:00:00Z``."""
    return utc_query(value, "date")


def parse_date(value: Any) -> datetime:
    """JSM's ISO timestamp (any offset) as aware UTC; BadResponse when it is not one."""
    return parse_utc(value, "JSM", "date")


def values(body: Mapping[str, Any], what: str) -> tuple[list[dict[str, Any]], str | None]:
    """A paged list's items and its ``links.next`` (None on the last page)."""
    items = body.get("values")
    if not isinstance(items, list):
        raise BadResponse(f"JSM's {what} has no 'values' list")
    links = body.get("links") if isinstance(body.get("links"), dict) else {}
    following = links.get("next") if isinstance(links, dict) else None
    return [i for i in items if isinstance(i, dict)], following if isinstance(following, str) else None


def _users(participants: Any) -> list[str]:
    """Account ids of every user in a participants tree (teams and escalations nest their own)."""
    found: list[str] = []
    for participant in participants if isinstance(participants, list) else []:
        if not isinstance(participant, dict):
            continue
        if participant.get("type") == "user" and participant.get("id"):
            found.append(str(participant["id"]))
        found += _users(participant.get("onCallParticipants"))
    return found


def on_call_users(body: Mapping[str, Any], schedule: str) -> list[str]:
    """The account ids on call, from ``onCallUsers`` (flat) or the ``onCallParticipants`` tree."""
    flat = body.get("onCallUsers")
    if isinstance(flat, list) and all(isinstance(u, str) for u in flat):
        return list(dict.fromkeys(flat))
    if isinstance(body.get("onCallParticipants"), list):
        return list(dict.fromkeys(_users(body["onCallParticipants"])))
    raise BadResponse(f"JSM sent an on-call answer we cannot read for schedule '{schedule}'")


def _period_people(period: Mapping[str, Any]) -> list[str]:
    # JSM names the period's person "responder"; Opsgenie called it "recipient". Teams expand to users.
    who = period.get("responder") or period.get("recipient") or {}
    if isinstance(who, dict) and who.get("type") == "user" and who.get("id"):
        return [str(who["id"])]
    flattened = period.get("flattenedRecipients") or period.get("flattenedResponders") or []
    return [
        str(r["id"]) for r in flattened if isinstance(r, dict) and r.get("type") == "user" and r.get("id")
    ]


def timeline(
    body: Mapping[str, Any], schedule: str, asked_end: datetime
) -> tuple[datetime, list[Piece], int]:
    """Where the answered window ends, its pieces, and how many rotations the schedule showed."""
    try:
        window_end = parse_date(body["endDate"]) if "endDate" in body else asked_end
        rotations = (body.get("finalTimeline") or {}).get("rotations") or []
        pieces = [
            (str(rotation.get("name") or rotation.get("id") or index), person, lo, hi)  # the layer
            for index, rotation in enumerate(rotations)
            for period in rotation.get("periods") or []
            for lo, hi in [(parse_date(period["startDate"]), parse_date(period["endDate"]))]
            for person in _period_people(period)
            if hi > lo
        ]
    except (AttributeError, KeyError, TypeError) as exc:
        raise BadResponse(f"JSM sent a timeline we cannot read for schedule '{schedule}'") from exc
    return window_end, pieces, len(rotations)


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def alert_body(alert: AlertRequest, schedule_id: str) -> dict[str, Any]:
    """The create-alert JSON (the same for the REST and the integration API), within JSM's limits."""
    body: dict[str, Any] = {
        "message": _trim(alert.message, MAX_MESSAGE),
        "description": _trim(alert.description, MAX_DESCRIPTION),
        "alias": alert.alias[:MAX_ALIAS],
        "responders": [{"type": "schedule", "id": schedule_id}],
        "priority": alert.priority,
        "source": alert.source,
    }
    if alert.tags:
        body["tags"] = list(alert.tags)
    if alert.details:
        body["extraProperties"] = {k: str(v) for k, v in alert.details.items()}
    if alert.note is not None:
        body["note"] = alert.note
    return body


def request_status(body: Mapping[str, Any], request_id: str) -> AlertStatus:
    """A processed alert request (top level in the REST API; inside ``data`` where an old shape has it)."""
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    if not isinstance(data, Mapping) or not ({"isSuccess", "success"} & set(data)):
        raise BadResponse(f"JSM sent a request status we cannot read for request '{request_id}'")
    alert_id = data.get("alertId")
    return AlertStatus(
        done=True,
        success=bool(data.get("isSuccess", data.get("success"))),
        alert_id=alert_id if isinstance(alert_id, str) and alert_id else None,
        message=str(data.get("status") or ""),
    )
