"""The PagerDuty sandbox's REST incidents: the incidents trigger events opened, read and changed over REST.

``GET /incidents`` (filtered by ``incident_key``, the event's dedup key; ``statuses[]``), ``GET
/incidents/{id}`` and ``PUT /incidents/{id}`` with PagerDuty's rule that a change needs a ``From`` header
naming a user of the account by email (400 otherwise). The incident's ``last_status_change_by`` names the
user, or the service when an event changed it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from app.sandbox.opsgenie_api import Reply
from app.sandbox.pagerduty_rest import pd_error

if TYPE_CHECKING:
    from app.sandbox.pagerduty import PagerDutySandbox

Query = Mapping[str, Sequence[str]]
_STATUSES = ("acknowledged", "resolved")
SERVICE = {"id": "PSERVIC", "type": "service_reference", "summary": "Sandbox service (Events API v2)"}


def incident_json(incident: dict[str, Any], web_url: str) -> dict[str, Any]:
    """One incident as the REST API shows it."""
    return {
        "id": incident["id"],
        "type": "incident",
        "summary": incident["summary"],
        "title": incident["summary"],
        "incident_number": incident.get("number", 1),
        "status": incident["status"],
        "incident_key": incident["dedup_key"],
        "urgency": "high",
        "created_at": incident["created_at"],
        "html_url": f"{web_url}/incidents/{incident['id']}",
        "service": SERVICE,
        "last_status_change_by": incident.get("changed_by") or SERVICE,
    }


class Incidents:
    """REST access to the sandbox's incidents (the Events API keeps them)."""

    def __init__(self, sandbox: PagerDutySandbox) -> None:
        self.sandbox = sandbox

    def route(
        self, method: str, segments: list[str], query: Query, headers: Mapping[str, str], body: bytes
    ) -> Reply:
        """Answer ``/incidents`` and ``/incidents/{id}``."""
        match method, segments:
            case "GET", ["incidents"]:
                return self._list(query)
            case "GET", ["incidents", incident_id]:
                found = self._find(incident_id)
                return Reply(200, {"incident": self._json(found)}) if found else _not_found()
            case "PUT", ["incidents", incident_id]:
                return self._change(incident_id, headers, body)
        return pd_error(404, "Not Found", 2100)

    def _json(self, incident: dict[str, Any]) -> dict[str, Any]:
        return incident_json(incident, self.sandbox.web_url)

    def _find(self, incident_id: str) -> dict[str, Any] | None:
        with self.sandbox.lock:
            return next((i for i in self.sandbox.incident_store() if i["id"] == incident_id), None)

    def _list(self, query: Query) -> Reply:
        keys, statuses = query.get("incident_key") or [], query.get("statuses[]") or []
        with self.sandbox.lock:
            found = [
                self._json(i)
                for i in self.sandbox.incident_store()
                if (not keys or i["dedup_key"] == keys[-1]) and (not statuses or i["status"] in statuses)
            ]
        return Reply(200, {"incidents": found, "limit": 25, "offset": 0, "more": False, "total": None})

    def _change(self, incident_id: str, headers: Mapping[str, str], body: bytes) -> Reply:
        email = headers.get("from", "")
        with self.sandbox.lock:
            user = next((u for u in self.sandbox.users.values() if u.email == email), None)
        if not email:
            return pd_error(400, "Invalid Input Provided", 2001, ["A 'From' header is required"])
        if user is None:
            return pd_error(400, "Invalid Input Provided", 2001, ["Requester User Not Found"])
        try:
            change = json.loads(body or b"null")["incident"]
            status = change["status"]
        except (ValueError, KeyError, TypeError):
            return pd_error(400, "Invalid Input Provided", 2001, ["'incident' with a 'status' is required"])
        if status not in _STATUSES:
            return pd_error(400, "Invalid Input Provided", 2001, [f"Status {status!r} is not valid"])
        with self.sandbox.lock:
            incident = self._find(incident_id)
            if incident is None:
                return _not_found()
            if incident["status"] != "resolved":  # a resolved incident stays resolved
                incident["status"] = status
                incident["changed_by"] = {"id": user.id, "type": "user_reference", "summary": user.name}
            return Reply(200, {"incident": self._json(incident)})


def _not_found() -> Reply:
    return pd_error(404, "Not Found", 2100, ["Incident Not Found"])
