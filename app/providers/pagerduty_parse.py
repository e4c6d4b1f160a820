"""PagerDuty JSON in, domain-shaped values out (and the Events API body): pure functions, no HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.domain import AlertRequest
from app.providers import BadResponse
from app.providers.pager_http import parse_utc, utc_query
from app.providers.pieces import Piece, merge_by_source

# The escalation's priority as an Events API severity (PagerDuty has four levels, Opsgenie five).
SEVERITY = {"P1": "critical", "P2": "error", "P3": "warning", "P4": "info", "P5": "info"}
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
MAX_DESCRIPTION = 15000

# (source, user id, start, end): one stretch of one user from one rotation (v3) or the final layer (v2).


def format_time(value: datetime) -> str:
    """An aware instant as PagerDuty's query format, always UTC: ``2024-01-01T08:00:00Z``."""
    return utc_query(value, "time")


def parse_time(value: Any) -> datetime:
    """PagerDuty's ISO timestamp (any offset) as aware UTC; BadResponse when it is not one."""
    return parse_utc(value, "PagerDuty", "time")


def _schedule(body: Mapping[str, Any], schedule: str) -> Mapping[str, Any]:
    value = body.get("schedule")
    if not isinstance(value, dict):
        raise BadResponse(f"PagerDuty's answer about schedule '{schedule}' has no 'schedule' object")
    return value


def v2_pieces(body: Mapping[str, Any], schedule: str) -> list[Piece]:
    """The final layer of a layer-based schedule (one person at a time)."""
    try:
        final = _schedule(body, schedule).get("final_schedule") or {}
        return [
            ("final", str(entry["user"]["id"]), parse_time(entry["start"]), parse_time(entry["end"]))
            for entry in final.get("rendered_schedule_entries") or []
            if isinstance(entry.get("user"), dict)
        ]
    except (AttributeError, KeyError, TypeError) as exc:
        raise BadResponse(f"PagerDuty sent a final schedule we cannot read for '{schedule}'") from exc


def v3_pieces(body: Mapping[str, Any], schedule: str) -> list[Piece]:
    """The computed shifts of a shift-based schedule: people may overlap; empty windows are skipped."""
    try:
        final = _schedule(body, schedule).get("final_schedule") or {}
        pieces = []
        for shift in final.get("computed_shift_assignments") or []:
            member = shift.get("member") or {}
            if member.get("type") != "user_member" or not member.get("user_id"):
                continue
            source = shift.get("source") or {}
            origin = str(source.get("rotation_id") or source.get("shift_id") or source.get("type") or "shift")
            pieces.append(
                (
                    origin,
                    str(member["user_id"]),
                    parse_time(shift["start_time"]),
                    parse_time(shift["end_time"]),
                )
            )
        return pieces
    except (AttributeError, KeyError, TypeError) as exc:
        raise BadResponse(f"PagerDuty sent computed shifts we cannot read for '{schedule}'") from exc


def merge(pieces: list[Piece], start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """Like ``merge_by_source``, the sources dropped: (user, start, end), without repeats, by start."""
    stretches = {(user, lo, hi) for _, user, lo, hi in merge_by_source(pieces, start, end)}
    return sorted(stretches, key=lambda s: (s[1], s[0], s[2]))


def oncall_users(body: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(user id, email when included) of each on-call, lowest escalation level first, without repeats."""
    oncalls = body.get("oncalls")
    if not isinstance(oncalls, list):
        raise BadResponse("PagerDuty's on-calls answer has no 'oncalls' list")
    try:
        ranked = sorted(oncalls, key=lambda o: o.get("escalation_level") or 0)
        users = [(str(o["user"]["id"]), o["user"].get("email")) for o in ranked]
    except (AttributeError, KeyError, TypeError) as exc:
        raise BadResponse("PagerDuty sent an on-call we cannot read") from exc
    first: dict[str, str | None] = {}
    for user, email in users:
        first[user] = first.get(user) or email
    return list(first.items())


def dedup_key(alias: str) -> str:
    """The escalation's alias as a dedup key: stable across redeliveries, hashed when over 255 characters."""
    if len(alias) <= MAX_DEDUP_KEY:
        return alias
    return "oncall-bot-" + hashlib.sha256(alias.encode()).hexdigest()


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def trigger_event(alert: AlertRequest, routing_key: str) -> dict[str, Any]:
    """The Events API v2 trigger for an escalation, within PagerDuty's documented limits."""
    details: dict[str, Any] = {"description": _trim(alert.description, MAX_DESCRIPTION), **alert.details}
    if alert.tags:
        details["tags"] = list(alert.tags)
    payload: dict[str, Any] = {
        "summary": _trim(alert.message, MAX_SUMMARY),
        "source": alert.source,
        "severity": SEVERITY.get(alert.priority, "warning"),
        "component": "slack",
        "custom_details": details,
    }
    if alert.details.get("team"):
        payload["group"] = alert.details["team"]
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(alert.alias),
        "client": "oncall-bot",
        "payload": payload,
    }
    permalink = alert.details.get("permalink")
    if permalink:
        event["client_url"] = permalink
        event["links"] = [{"href": permalink, "text": "Slack thread"}]
    return event
