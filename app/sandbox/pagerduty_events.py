"""The PagerDuty sandbox's Events API v2: ``POST /v2/enqueue`` validated like PagerDuty, incidents kept.

A trigger opens an incident for its ``dedup_key``; another trigger with the same key while that incident
is open adds an alert to it instead of opening a second one (PagerDuty's deduplication), acknowledge and
resolve move it along. Each routing key takes about 120 events a minute, then 429.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.sandbox.opsgenie_api import Reply

if TYPE_CHECKING:
    from app.sandbox.pagerduty import PagerDutySandbox

log = logging.getLogger(__name__)

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
_ALNUM = re.compile(r"^[A-Za-z0-9]*$")


def events_error(status: int, kind: str, message: str, errors: Sequence[str] = ()) -> Reply:
    """The Events API's error body: ``{"status", "message", "errors"}``."""
    body: dict[str, Any] = {"status": kind, "message": message}
    if errors:
        body["errors"] = list(errors)
    return Reply(status, body)


def _invalid(errors: Sequence[str]) -> Reply:
    return events_error(400, "invalid event", "Event object is invalid", errors)


def validate(event: dict[str, Any]) -> list[str]:
    """The Events API's complaints about an event object (empty when it is valid)."""
    errors: list[str] = []
    key = event.get("routing_key")
    if not isinstance(key, str) or not key.strip():
        errors.append("'routing_key' is missing or blank")
    else:
        if len(key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        if not _ALNUM.match(key):
            errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append(
            "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
        )
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > MAX_DEDUP_KEY):
        errors.append(f"'dedup_key' is too long (should be at most {MAX_DEDUP_KEY} characters)")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        errors.extend(_payload_errors(event.get("payload")))
    return errors


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or blank"]
    errors: list[str] = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > MAX_SUMMARY:
        errors.append(f"'payload.summary' is too long (should be at most {MAX_SUMMARY} characters)")
    source = payload.get("source")
    if not isinstance(source, str) or not source.strip():
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        choices = "'critical', 'warning', 'error' or 'info'"
        errors.append(f"'payload.severity' is invalid (must be one of the following: {choices})")
    return errors


class Events:
    """Accepted events and the incidents they opened; state guarded by the sandbox's lock."""

    def __init__(self, sandbox: PagerDutySandbox) -> None:
        self.sandbox = sandbox
        self.accepted: list[dict[str, Any]] = []
        self.incidents: list[dict[str, Any]] = []
        self._calls: dict[str, list[float]] = {}

    def route(self, method: str, path: str, raw: bytes) -> Reply:
        """Answer a request to the Events host."""
        if (method, path.rstrip("/")) != ("POST", "/v2/enqueue"):
            return events_error(404, "Not Found", "The requested resource does not exist")
        try:
            event = json.loads(raw or b"null")
        except ValueError:
            event = None
        if not isinstance(event, dict):
            return events_error(
                400, "Unrecognized object", "Event object format is unrecognized", ["JSON parse error"]
            )
        errors = validate(event)
        if errors:
            return _invalid(errors)
        with self.sandbox.lock:
            if event["routing_key"] not in self.sandbox.routing_keys:
                return _invalid(["Invalid routing key"])
            if self._throttled(event["routing_key"]):
                return events_error(
                    429,
                    "throttle event",
                    "Requests for this service are arriving too quickly. Please retry later.",
                )
            dedup_key = event.get("dedup_key") or uuid.uuid4().hex
            self.accepted.append(dict(event))
            self._apply(event, dedup_key)
        return Reply(202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key})

    def _throttled(self, routing_key: str) -> bool:
        now = self.sandbox.monotonic()
        calls = [t for t in self._calls.get(routing_key, []) if t > now - 60]
        self._calls[routing_key] = calls
        if len(calls) >= self.sandbox.events_per_minute:
            return True
        calls.append(now)
        return False

    def _open(self, routing_key: str, dedup_key: str) -> dict[str, Any] | None:
        for incident in self.incidents:
            same = (incident["routing_key"], incident["dedup_key"]) == (routing_key, dedup_key)
            if same and incident["status"] != "resolved":
                return incident
        return None

    def _apply(self, event: dict[str, Any], dedup_key: str) -> None:
        """Open, deduplicate, acknowledge or resolve the incident the event is about."""
        action, routing_key = event["event_action"], event["routing_key"]
        incident = self._open(routing_key, dedup_key)
        now = self.sandbox.now().isoformat(timespec="seconds").replace("+00:00", "Z")
        if action == "trigger" and incident is None:
            payload = event["payload"]
            self.incidents.append(
                {
                    "id": f"Q{uuid.uuid4().hex[:13].upper()}",
                    "routing_key": routing_key,
                    "dedup_key": dedup_key,
                    "status": "triggered",
                    "summary": payload["summary"],
                    "severity": payload["severity"],
                    "source": payload["source"],
                    "created_at": now,
                    "triggers": 1,
                    "event": dict(event),
                }
            )
        elif action == "trigger" and incident is not None:
            incident["triggers"] += 1  # deduplicated: the open incident takes the event
        elif incident is not None:
            incident["status"] = "acknowledged" if action == "acknowledge" else "resolved"
            incident["changed_by"] = None  # the service (its Events API integration) made the change
