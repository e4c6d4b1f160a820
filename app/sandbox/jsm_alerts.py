"""The JSM sandbox's alerts: one store behind two doors, both asynchronous (202 + a request id).

The Ops REST API (``/v1/alerts``, Basic auth) takes responders by id and acts on alerts by id; its
``/v1/alerts/requests/{id}`` follows every request, whichever door it came through. An API integration's
events API (``/jsm/ops/integration/v2/alerts``, GenieKey) only creates, acknowledges, closes and adds
notes (by id, tiny id or alias; an unknown alert is a failed request, not an error). Both take
``extraProperties``. An open alert with the same alias is deduplicated.
"""

from __future__ import annotations

import itertools
import json
import uuid
from typing import TYPE_CHECKING, Any

from app.sandbox.jsm_faults import ops_error
from app.sandbox.opsgenie_api import Reply
from app.sandbox.opsgenie_api import error as genie_error
from app.sandbox.opsgenie_api import ok as genie_ok

if TYPE_CHECKING:
    from app.sandbox.jsm import JsmSandbox

Query = dict[str, list[str]]
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
RESPONDER_TYPES = ("team", "user", "escalation", "schedule")
MAX_MESSAGE = 130
MAX_ALIAS = 512
MAX_DESCRIPTION = 15000
_ACCEPTED = {"result": "Request will be processed"}


def _one(query: Query, key: str, default: str = "") -> str:
    values = query.get(key)
    return values[-1] if values else default


def _body(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class Alerts:
    """Alert state and the two APIs over it."""

    def __init__(self, sandbox: JsmSandbox) -> None:
        self.sandbox = sandbox
        self.alerts: list[dict[str, Any]] = []
        self.requests: dict[str, dict[str, Any]] = {}
        self._tiny = itertools.count(1)

    # -- the Ops REST API -----------------------------------------------------------------------------------

    def rest(self, method: str, segments: list[str], query: Query, raw: bytes) -> Reply:
        """Answer ``/v1/alerts/<segments>``."""
        match method, segments:
            case "POST", []:
                reply = self._rest_create(raw)
            case "GET", []:
                reply = self._list(query)
            case "GET", ["requests", request_id]:
                entry = self._poll(request_id)
                message = f"Request [{request_id}] is not processed yet or does not exist"
                reply = Reply(200, entry) if entry else ops_error(404, message)
            case "GET", ["alias"]:
                reply = self._show(self._find("alias", _one(query, "alias")))
            case "GET", [alert_id]:
                reply = self._show(self._find("id", alert_id))
            case "POST", [alert_id, ("acknowledge" | "close" | "notes") as action]:
                reply = self._rest_act(alert_id, action, _body(raw) or {})
            case _:
                reply = ops_error(404, f"No handler found for {method} /v1/alerts/{'/'.join(segments)}")
        return reply

    def _rest_create(self, raw: bytes) -> Reply:
        body = _body(raw)
        if body is None:
            return ops_error(400, "Could not parse the request body as a JSON object")
        problems = self._problems(body, by_id=True)
        if problems:
            return ops_error(400, "; ".join(problems))
        return Reply(202, {**_ACCEPTED, "took": 0.01, "requestId": self._create(body, "rest")})

    def _show(self, alert: dict[str, Any] | None) -> Reply:
        return Reply(200, dict(alert)) if alert else ops_error(404, "Alert not found")

    def _rest_act(self, alert_id: str, action: str, body: dict[str, Any]) -> Reply:
        if action == "notes" and not str(body.get("note") or "").strip():
            return ops_error(400, "note must not be empty")
        alert = self._find("id", alert_id)
        if alert is None:
            return ops_error(404, f"No alert exists with id [{alert_id}]")
        return Reply(202, {**_ACCEPTED, "took": 0.01, "requestId": self._act(alert, action, body)})

    def _list(self, query: Query) -> Reply:
        try:
            offset, size = int(_one(query, "offset", "0")), int(_one(query, "size", "20"))
        except ValueError:
            offset, size = -1, 0
        if offset < 0 or not 1 <= size <= 100:
            return ops_error(400, "size must be between 1 and 100 and offset not negative")
        terms = _terms(_one(query, "query"))
        with self.sandbox.lock:
            matching = [a for a in self.alerts if all(str(a.get(k, "")) == v for k, v in terms)]
        matching.sort(key=lambda a: a["createdAt"], reverse=True)
        page = [dict(a) for a in matching[offset : offset + size]]
        more = offset + size < len(matching)
        following = f"{self.sandbox.ops_url}/v1/alerts?offset={offset + size}&size={size}" if more else None
        return Reply(200, {"values": page, "links": {"next": following}})

    # -- the integration API --------------------------------------------------------------------------------

    def integration(self, method: str, segments: list[str], query: Query, raw: bytes) -> Reply:
        """Answer ``/jsm/ops/integration/v2/alerts/<segments>`` (Opsgenie's v2 shapes)."""
        match method, segments:
            case "POST", []:
                reply = self._genie_create(raw)
            case "POST", [identifier, ("acknowledge" | "close" | "notes") as action]:
                reply = self._genie_act(identifier, action, _one(query, "identifierType", "id"), raw)
            case _:
                reply = genie_error(404, f"No handler found for {method} /v2/alerts/{'/'.join(segments)}")
        return reply

    def _genie_create(self, raw: bytes) -> Reply:
        body = _body(raw)
        if body is None:
            return genie_error(400, "Could not parse the request body as a JSON object")
        problems = self._problems(body, by_id=False)
        if problems:
            return genie_error(422, "Request body is not processable. " + "; ".join(problems))
        return genie_ok(202, dict(_ACCEPTED), request_id=self._create(body, "integration"))

    def _genie_act(self, identifier: str, action: str, kind: str, raw: bytes) -> Reply:
        if kind not in ("id", "tiny", "alias"):
            return genie_error(422, "identifierType should be one of [id, tiny, alias]")
        alert = self._find({"tiny": "tinyId"}.get(kind, kind), identifier)
        if alert is None:  # accepted all the same: the request is what fails, later
            name = {"notes": "AddNote"}.get(action, action.title())
            return genie_ok(
                202, dict(_ACCEPTED), request_id=self._queue(name, False, None, "Alert does not exist")
            )
        return genie_ok(202, dict(_ACCEPTED), request_id=self._act(alert, action, _body(raw) or {}))

    # -- shared ---------------------------------------------------------------------------------------------

    def _problems(self, body: dict[str, Any], *, by_id: bool) -> list[str]:
        problems: list[str] = []
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            problems.append("message must not be empty")
        elif len(message) > MAX_MESSAGE:
            problems.append(f"message must be at most {MAX_MESSAGE} characters")
        if len(str(body.get("alias") or "")) > MAX_ALIAS:
            problems.append(f"alias must be at most {MAX_ALIAS} characters")
        if len(str(body.get("description") or "")) > MAX_DESCRIPTION:
            problems.append(f"description must be at most {MAX_DESCRIPTION} characters")
        if "priority" in body and body["priority"] not in PRIORITIES:
            problems.append(f"priority must be one of {', '.join(PRIORITIES)}")
        for responder in body.get("responders") or []:
            problems += self._responder_problems(responder, by_id)
        return problems

    def _responder_problems(self, responder: Any, by_id: bool) -> list[str]:
        if not isinstance(responder, dict) or responder.get("type") not in RESPONDER_TYPES:
            return [f"responder type must be one of {', '.join(RESPONDER_TYPES)}"]
        if by_id and not responder.get("id"):
            return ["responders are given by id"]
        if responder["type"] == "schedule":
            key = responder.get("id") or responder.get("name")
            with self.sandbox.lock:
                known = {s.id for s in self.sandbox.schedules.values()}
                known |= set() if by_id else {s.name for s in self.sandbox.schedules.values()}
            if key not in known:
                return [f"no schedule [{key}]"]
        return []

    def _now(self) -> str:
        return self.sandbox.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _create(self, body: dict[str, Any], via: str) -> str:
        """Open an alert (or deduplicate into the open one with its alias); queue its request."""
        with self.sandbox.lock:
            alias = body.get("alias")
            open_ones = (a for a in self.alerts if a["status"] == "open")
            alert = next((a for a in open_ones if alias and a["alias"] == alias), None)
            if alert is not None:
                alert["count"] += 1
                status = "Alert deduplicated"
            else:
                alert_id = str(uuid.uuid4())
                alert = {
                    **body,
                    "id": alert_id,
                    "tinyId": str(next(self._tiny)),
                    "alias": alias or alert_id,
                    "status": "open",
                    "acknowledged": False,
                    "count": 1,
                    "priority": body.get("priority", "P3"),
                    "createdAt": self._now(),
                    "updatedAt": self._now(),
                    "notes": [],
                    "via": via,
                }
                self.alerts.append(alert)
                status = "Created alert"
            return self._queue("Create", True, alert, status)

    def _act(self, alert: dict[str, Any], action: str, body: dict[str, Any]) -> str:
        with self.sandbox.lock:
            if action == "acknowledge":
                alert["acknowledged"] = True
            elif action == "close":
                alert["status"] = "closed"
            if body.get("note"):
                alert["notes"].append(str(body["note"]))
            alert["updatedAt"] = self._now()
            name = {"notes": "AddNote"}.get(action, action.title())
            return self._queue(name, True, alert, f"{name} processed")

    def _queue(self, action: str, success: bool, alert: dict[str, Any] | None, status: str) -> str:
        request_id = str(uuid.uuid4())
        with self.sandbox.lock:
            self.requests[request_id] = {
                "polls": 0,
                "action": action,
                "processedAt": self._now(),
                "integrationId": "3a6f2b1e-0000-4000-8000-5a4db0c0ffee",
                "isSuccess": success,
                "status": status,
                "alertId": alert["id"] if alert else "",
                "alias": alert["alias"] if alert else "",
            }
        return request_id

    def _poll(self, request_id: str) -> dict[str, Any] | None:
        """The processed request, or None while JSM is still processing it (or knows no such request)."""
        with self.sandbox.lock:
            entry = self.requests.get(request_id)
            if entry is None:
                return None
            entry["polls"] += 1
            if entry["polls"] <= self.sandbox.alert_processing_polls:
                return None
            return {k: v for k, v in entry.items() if k != "polls"}

    def _find(self, field: str, value: str) -> dict[str, Any] | None:
        with self.sandbox.lock:
            found = [a for a in self.alerts if a.get(field) == value]
            found.sort(key=lambda a: a["status"] != "open")  # closed alerts keep their alias
            return found[0] if found else None


def _terms(text: str) -> list[tuple[str, str]]:
    """A small subset of JSM's alert search syntax: ``field: value AND field: value``."""
    terms = []
    for part in text.split(" AND "):
        key, sep, value = part.partition(":")
        if sep:
            terms.append((key.strip(), value.strip()))
    return terms
