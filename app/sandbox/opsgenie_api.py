"""The Opsgenie sandbox's endpoints: Opsgenie v2 JSON in and out, with Opsgenie's error shapes and traps."""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.sandbox.opsgenie_schedule import (
    Period,
    Rotation,
    default_periods,
    exact_next,
    format_date,
    next_per_rotation,
    on_call_at,
    ordered,
    parse_date,
    rotation_periods,
    window_end,
)

if TYPE_CHECKING:
    from app.sandbox.opsgenie import OpsgenieSandbox, ScheduleState

log = logging.getLogger(__name__)

_ON_CALL_TYPE = "scheduleIdentifierType"
_PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
_MAX_MESSAGE = 130
_MAX_DESCRIPTION = 15000
_USER_NAMESPACE = uuid.UUID("6f1c3a52-9a43-4a53-a0c5-5b1f0c0de001")


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, JSON-able body (or raw bytes) and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        """The body as bytes on the wire."""
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


class _Answer(Exception):
    """Raised deep inside a handler to answer at once (errors, mostly)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def ok(status: int, body: dict[str, Any], *, request_id: str | None = None) -> Reply:
    """A success envelope with Opsgenie's ``took`` and ``requestId``."""
    return Reply(status, {**body, "took": 0.004, "requestId": request_id or str(uuid.uuid4())})


def error(status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any) -> Reply:
    """Opsgenie's error body: ``{"message", "took", "requestId"}`` (plus e.g. ``errors``)."""
    body = {"message": message, **extra, "took": 0.001, "requestId": str(uuid.uuid4())}
    return Reply(status, body, headers or {})


def user_json(email: str) -> dict[str, str]:
    """A user reference as Opsgenie writes it: a stable id and the username (an email)."""
    return {"id": str(uuid.uuid5(_USER_NAMESPACE, email)), "name": email, "type": "user"}


def _rotation_id(schedule: ScheduleState, rotation: Rotation) -> str:
    return str(uuid.uuid5(_USER_NAMESPACE, f"{schedule.id}/{rotation.name}"))


def _rotation_kind(length: timedelta) -> tuple[str, float]:
    """Opsgenie's rotation ``type`` and ``length`` for a turn length."""
    for kind, unit in (("weekly", timedelta(weeks=1)), ("daily", timedelta(days=1))):
        if length % unit == timedelta(0):
            return kind, length // unit
    return "hourly", length / timedelta(hours=1)


class Api:
    """Routes requests to Opsgenie endpoints; alert state lives here, schedules in the sandbox."""

    def __init__(self, sandbox: OpsgenieSandbox) -> None:
        self.sandbox = sandbox
        self.alerts: list[dict[str, Any]] = []
        self.alert_requests: dict[str, dict[str, Any]] = {}
        self._tiny_ids = itertools.count(1)

    def route(self, method: str, segments: list[str], query: dict[str, str], body: bytes) -> Reply:
        """Answer an authenticated request for ``/segment/segment/...``."""
        try:
            return self._dispatch(method, segments, query, body)
        except _Answer as answer:
            return answer.reply
        except Exception as exc:
            # A sandbox bug must show up as an answer in the test, not as a dropped connection.
            log.exception("Opsgenie sandbox failed on %s /%s", method, "/".join(segments))
            return error(500, f"Opsgenie sandbox bug: {exc!r}")

    def _dispatch(self, method: str, segments: list[str], query: dict[str, str], body: bytes) -> Reply:
        match method, segments:
            case "GET", ["v2", "account"]:
                reply = self._account()
            case "GET", ["v2", "schedules"]:
                reply = self._schedules(query)
            case "GET", ["v2", "schedules", identifier, "on-calls"]:
                reply = self._on_calls(self._find(identifier, query.get(_ON_CALL_TYPE)), query)
            case "GET", ["v2", "schedules", identifier, "next-on-calls"]:
                reply = self._next_on_calls(self._find(identifier, query.get(_ON_CALL_TYPE)), query)
            case "GET", ["v2", "schedules", identifier, "timeline"]:
                # The trap: timeline reads identifierType, and ignores scheduleIdentifierType entirely.
                reply = self._timeline(self._find(identifier, query.get("identifierType")), query)
            case "POST", ["v2", "alerts"]:
                reply = self._create_alert(body)
            case "GET", ["v2", "alerts"]:
                reply = self._list_alerts(query)
            case "POST", ["v2", "alerts", identifier, "notes"] if not _json_object(body).get("note"):
                reply = error(422, "Note can not be empty")
            case "POST", ["v2", "alerts", identifier, ("acknowledge" | "close" | "notes") as action]:
                kind = query.get("identifierType", "id")
                reply = self._alert_action(identifier, action, kind, _json_object(body))
            case "GET", ["v2", "alerts", "requests", request_id]:
                reply = self._request_status(request_id)
            case "GET", ["v2", "alerts", identifier]:
                reply = self._show_alert(identifier, query.get("identifierType", "id"))
            case _:
                reply = error(404, f"No handler found for {method} /{'/'.join(segments)}")
        return reply

    # -- account and schedules -------------------------------------------------------------------------------

    def _account(self) -> Reply:
        if self.sandbox.team_scoped_key:
            return error(403, "You are not authorized to take this action.")
        with self.sandbox.lock:
            users = {p for s in self.sandbox.schedules.values() for r in s.rotations for p in r.participants}
        plan = {"maxUserCount": 1500, "name": "Enterprise", "isYearly": True}
        return ok(200, {"data": {"name": "sandbox", "userCount": len(users), "plan": plan}})

    def _find(self, identifier: str, kind: str | None) -> ScheduleState:
        kind = kind or "id"
        if kind not in ("id", "name"):
            raise _Answer(error(422, f"Invalid identifier type [{kind}]. Should be one of [id, name]"))
        with self.sandbox.lock:
            found = next((s for s in self.sandbox.schedules.values() if getattr(s, kind) == identifier), None)
        if found is None:
            raise _Answer(error(404, f"No schedule exists with {kind} [{identifier}]"))
        if found.denied:
            raise _Answer(error(403, "You are not authorized to take this action."))
        return found

    def _schedules(self, query: dict[str, str]) -> Reply:
        expand = "rotation" in query.get("expand", "")
        with self.sandbox.lock:
            visible = [s for s in self.sandbox.schedules.values() if not s.denied]
            data = [self._schedule_json(s, expand) for s in visible]
        return ok(200, {"data": data, "expandable": ["rotation"]})

    def _schedule_json(self, state: ScheduleState, expand: bool) -> dict[str, Any]:
        team = {"id": str(uuid.uuid5(_USER_NAMESPACE, f"team/{state.id}")), "name": f"{state.name}_team"}
        schedule = {
            "id": state.id,
            "name": state.name,
            "description": "",
            "timezone": state.timezone,
            "enabled": state.enabled,
            "ownerTeam": team,
        }
        if expand:
            schedule["rotations"] = [self._rotation_json(state, r) for r in ordered(state.rotations)]
        return schedule

    def _rotation_json(self, state: ScheduleState, rotation: Rotation) -> dict[str, Any]:
        kind, length = _rotation_kind(rotation.length)
        participants = [
            {"type": "user", "id": user_json(p)["id"], "username": p} for p in rotation.participants
        ]
        return {
            "id": _rotation_id(state, rotation),
            "name": rotation.name,
            "startDate": format_date(rotation.start),
            "type": kind,
            "length": length,
            "participants": participants,
        }

    def _parent(self, state: ScheduleState) -> dict[str, Any]:
        return {"id": state.id, "name": state.name, "enabled": state.enabled}

    def _date(self, query: dict[str, str]) -> datetime:
        text = query.get("date")
        if text is None:
            return self.sandbox.now()
        try:
            return parse_date(text)
        except ValueError:
            # An unescaped '+' arrives as a space and lands here: the real API refuses it too.
            raise _Answer(error(422, f"Date [{text}] should be in yyyy-MM-dd'T'HH:mm:ssZ format")) from None

    def _on_calls(self, state: ScheduleState, query: dict[str, str]) -> Reply:
        at = self._date(query)
        with self.sandbox.lock:
            people = on_call_at(state.rotations, state.overrides, state.tz, at)
        data: dict[str, Any] = {"_parent": self._parent(state)}
        if query.get("flat", "false").lower() == "true":
            data["onCallRecipients"] = people
        else:
            data["onCallParticipants"] = [user_json(p) for p in people]
        return ok(200, {"data": data})

    def _next_on_calls(self, state: ScheduleState, query: dict[str, str]) -> Reply:
        after = self._date(query)
        with self.sandbox.lock:
            upcoming = next_per_rotation(state.rotations, state.overrides, state.tz, after)
            exact = exact_next(state.rotations, state.overrides, state.tz, after)
        data: dict[str, Any] = {"_parent": self._parent(state)}
        # Opsgenie's names are the other way round from on-calls: flat gives "Participants" as strings.
        if query.get("flat", "false").lower() == "true":
            data["nextOnCallParticipants"] = upcoming
            data["exactNextOnCallParticipants"] = exact
        else:
            data["nextOnCallRecipients"] = [user_json(p) for p in upcoming]
            data["exactNextOnCallRecipients"] = [user_json(p) for p in exact]
        return ok(200, {"data": data})

    def _timeline(self, state: ScheduleState, query: dict[str, str]) -> Reply:
        start = self._date(query)
        unit = query.get("intervalUnit", "weeks")
        try:
            interval = int(query.get("interval", "1"))
        except ValueError:
            interval = 0
        if unit not in ("days", "weeks", "months") or interval < 1:
            message = "interval should be a positive integer and intervalUnit days, weeks or months"
            raise _Answer(error(422, message))
        end = window_end(start, interval, unit, state.tz)
        expand = query.get("expand", "")
        with self.sandbox.lock:
            rotations = ordered(state.rotations)
            final = [(r, rotation_periods(r, state.overrides, state.tz, start, end)) for r in rotations]
            base = [(r, default_periods(r, state.tz, start, end)) for r in rotations]
        data: dict[str, Any] = {
            "_parent": self._parent(state),
            "startDate": format_date(start),
            "endDate": format_date(end),
            "finalTimeline": {"rotations": [self._timeline_rotation(state, r, p) for r, p in final]},
        }
        if "base" in expand:
            data["baseTimeline"] = {"rotations": [self._timeline_rotation(state, r, p) for r, p in base]}
        if "override" in expand:
            overrides = [(r, [p for p in periods if p.type == "override"]) for r, periods in final]
            data["overrideTimeline"] = {
                "rotations": [self._timeline_rotation(state, r, p) for r, p in overrides]
            }
        return ok(200, {"data": data, "expandable": ["base", "forwarding", "override"]})

    def _timeline_rotation(
        self, state: ScheduleState, rotation: Rotation, periods: list[Period]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": _rotation_id(state, rotation),
            "name": rotation.name,
            "order": rotation.order,
        }
        # Like the real API, a rotation with nobody in the window carries no "periods" key at all.
        if periods:
            body["periods"] = [
                {
                    "startDate": format_date(p.start),
                    "endDate": format_date(p.end),
                    "type": p.type,
                    "recipient": user_json(p.user),
                }
                for p in periods
            ]
        return body

    # -- alerts ---------------------------------------------------------------------------------------------

    def _create_alert(self, raw: bytes) -> Reply:
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return error(400, "Could not parse the request body as a JSON object")
        errors = _alert_errors(body)
        if errors:
            return error(422, "Request body is not processable. Please check the errors.", errors=errors)
        request_id = str(uuid.uuid4())
        with self.sandbox.lock:
            alert, created = self._open_alert(body)
            self.alert_requests[request_id] = {
                "polls": 0,
                "alertId": alert["id"],
                "alias": alert["alias"],
                "status": "Created alert" if created else "Alert deduplicated",
                "processedAt": self.sandbox.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
        return ok(202, {"result": "Request will be processed"}, request_id=request_id)

    def _open_alert(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The open alert with this alias, or a new one; True when created."""
        alias = body.get("alias")
        for alert in self.alerts:
            if alias and alert["alias"] == alias and alert["status"] == "open":
                return alert, False
        alert_id = str(uuid.uuid4())
        created_at = self.sandbox.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        alert = {
            **body,
            "id": alert_id,
            "alias": alias or alert_id,
            "status": "open",
            "createdAt": created_at,
            "tinyId": str(next(self._tiny_ids)),
        }
        self.alerts.append(alert)
        return alert, True

    def _alert_action(self, identifier: str, action: str, kind: str, body: dict[str, Any]) -> Reply:
        """Acknowledge or close an alert by id, tiny id or alias: accepted at once, processed later."""
        if kind not in ("id", "tiny", "alias"):
            return error(422, "identifierType should be one of [id, tiny, alias]")
        field = {"id": "id", "tiny": "tinyId", "alias": "alias"}[kind]
        request_id = str(uuid.uuid4())
        with self.sandbox.lock:
            # Closed alerts keep their alias; the open one wins, as in Opsgenie.
            found = sorted(
                (a for a in self.alerts if a.get(field) == identifier), key=lambda a: a["status"] != "open"
            )
            alert = found[0] if found else None
            if alert is not None and action == "notes":
                alert.setdefault("notes", []).append({"note": body["note"], "user": body.get("user")})
            elif alert is not None and action == "acknowledge":
                alert["acknowledged"] = True
                alert.setdefault("report", {})["acknowledgedBy"] = body.get("user") or "oncall-bot"
            elif alert is not None:
                alert["status"] = "closed"
                alert.setdefault("report", {})["closedBy"] = body.get("user") or "oncall-bot"
            self.alert_requests[request_id] = {
                "polls": 0,
                "action": "AddNote" if action == "notes" else action.title(),
                "success": alert is not None,
                "alertId": alert["id"] if alert else "",
                "alias": alert["alias"] if alert else "",
                "status": ("Added note" if action == "notes" else f"{action.title()}d alert")
                if alert
                else "Alert does not exist",
                "processedAt": self.sandbox.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
        return ok(202, {"result": "Request will be processed"}, request_id=request_id)

    def _show_alert(self, identifier: str, kind: str) -> Reply:
        """``GET /v2/alerts/{identifier}``: one alert (the open one first for an alias), or 404."""
        if kind not in ("id", "tiny", "alias"):
            return error(422, "identifierType should be one of [id, tiny, alias]")
        field = {"id": "id", "tiny": "tinyId", "alias": "alias"}[kind]
        with self.sandbox.lock:
            found = sorted(
                (a for a in self.alerts if a.get(field) == identifier), key=lambda a: a["status"] != "open"
            )
            alert = {"acknowledged": False, **found[0]} if found else None
        if alert is None:
            return error(404, f"Alert with {kind} [{identifier}] does not exist")
        return ok(200, {"data": alert})

    def _request_status(self, request_id: str) -> Reply:
        with self.sandbox.lock:
            entry = self.alert_requests.get(request_id)
            if entry is None:
                return error(404, f"No request exists with id [{request_id}]")
            entry["polls"] += 1
        if entry["polls"] <= self.sandbox.alert_processing_polls:
            headers = {"X-Opsgenie-Errortype": "RequestNotProcessed"}
            return error(404, "Request not found. It might not be processed, yet.", headers=headers)
        data = {
            "success": entry.get("success", True),
            "action": entry.get("action", "Create"),
            "processedAt": entry["processedAt"],
            "integrationId": "3a6f2b1e-0000-4000-8000-5a4db0c0ffee",
            "isSuccess": entry.get("success", True),
            "status": entry["status"],
            "alertId": entry["alertId"],
            "alias": entry["alias"],
        }
        return ok(200, {"data": data}, request_id=request_id)

    def _list_alerts(self, query: dict[str, str]) -> Reply:
        try:
            limit, offset = int(query.get("limit", "20")), int(query.get("offset", "0"))
        except ValueError:
            limit, offset = -1, -1
        if not 1 <= limit <= 100 or offset < 0:
            return error(422, "limit should be between 1 and 100 and offset not negative")
        terms = _parse_query(query.get("query", ""))
        with self.sandbox.lock:
            matching = [a for a in self.alerts if all(str(a.get(k, "")) == v for k, v in terms)]
        matching.sort(key=lambda a: a["createdAt"], reverse=query.get("order", "desc") == "desc")
        page = [dict(a) for a in matching[offset : offset + limit]]
        return ok(200, {"data": page})


def _alert_errors(body: dict[str, Any]) -> dict[str, str]:
    """Opsgenie's validation of an alert body, as its ``errors`` map."""
    errors: dict[str, str] = {}
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        errors["message"] = "Message can not be empty."
    elif len(message) > _MAX_MESSAGE:
        errors["message"] = f"Message can not be longer than {_MAX_MESSAGE} characters."
    description = body.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > _MAX_DESCRIPTION):
        errors["description"] = f"Description can not be longer than {_MAX_DESCRIPTION} characters."
    if "priority" in body and body["priority"] not in _PRIORITIES:
        errors["priority"] = f"Priority should be one of {list(_PRIORITIES)}"
    return errors


def _parse_query(text: str) -> list[tuple[str, str]]:
    """A small subset of Opsgenie's search syntax: ``field: value AND field: value``."""
    terms = []
    for part in text.split(" AND "):
        key, sep, value = part.partition(":")
        if sep:
            terms.append((key.strip(), value.strip()))
    return terms


def _json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or {} when it is none."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
