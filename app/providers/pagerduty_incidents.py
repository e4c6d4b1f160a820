"""PagerDuty incidents through the REST API: find the escalation's incident, read it, change it as a person.

The Events API pages and knows the incident only by its dedup key; the REST API finds the incident by that
key (``GET /incidents?incident_key=…``), tells its status and web address, and changes its status on
behalf of a PagerDuty user: ``PUT /incidents/{id}`` needs a ``From`` header with that user's email, which
is how the person who pressed Acknowledge or Resolve in Slack is credited in the incident's log.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from app.domain import AlertState
from app.providers import BadResponse, ProviderError
from app.providers.pagerduty_http import PagerDutyHttp

log = logging.getLogger(__name__)

STATES = {"triggered": "open", "acknowledged": "acknowledged", "resolved": "closed"}
# The statuses a person can set through ``PUT /incidents/{id}``, by the Events API's action names.
STATUS_OF_ACTION = {"acknowledge": "acknowledged", "resolve": "resolved"}


class PagerDutyIncidents:
    """Reads and changes the incidents the bot's events opened (by dedup key)."""

    def __init__(self, http: PagerDutyHttp) -> None:
        self._http = http

    def find(self, key: str) -> dict[str, Any] | None:
        """The incident with dedup key ``key`` (an open one before a resolved one); None when none."""
        # date_range=all: the default window is the last 30 days only, and an escalation may be older.
        params = {"incident_key": key, "date_range": "all", "limit": 25}
        answer = self._http.json(self._http.rest("/incidents", params=params), "the escalation's incident")
        incidents = answer.get("incidents")
        if not isinstance(incidents, list):
            raise BadResponse("PagerDuty sent an incident list we cannot read (no 'incidents')")
        found = [i for i in incidents if isinstance(i, dict) and i.get("incident_key") == key]
        found.sort(key=lambda i: (i.get("status") == "resolved", str(i.get("created_at") or "")))
        return found[0] if found else None

    def state(self, key: str) -> AlertState | None:
        """The incident as PagerDuty has it now; None when it has none with that dedup key."""
        incident = self.find(key)
        if incident is None:
            return None
        status = STATES.get(str(incident.get("status")))
        if status is None:
            raise BadResponse(f"PagerDuty sent an incident with an unknown status {incident.get('status')!r}")
        changed_by = incident.get("last_status_change_by")
        by = changed_by.get("summary") if isinstance(changed_by, dict) and status != "open" else None
        url = incident.get("html_url")
        return AlertState(
            key, status, by=str(by) if by else None, url=str(url) if isinstance(url, str) and url else None
        )

    def url(self, key: str) -> str | None:
        """The incident's page in PagerDuty's web app; None when it cannot be read now."""
        try:
            state = self.state(key)
        except ProviderError as error:  # a link is a courtesy: the message names the incident anyway
            log.warning("PagerDuty: no web address for incident %s: %s", key, error)
            return None
        return state.url if state is not None else None

    def change(self, key: str, action: str, email: str) -> bool:
        """Acknowledge or resolve the incident as the PagerDuty user with ``email``; False when it cannot.

        False when the incident is not found or PagerDuty refuses the change (``email`` is no user's: HTTP
        400; a read-only key: 403): the caller then acts through the Events API, naming no one. A PagerDuty
        that cannot be reached raises.
        """
        incident = self.find(key)
        if incident is None or not isinstance(incident.get("id"), str):
            return False
        body = {"incident": {"type": "incident_reference", "status": STATUS_OF_ACTION[action]}}
        path = f"/incidents/{quote(incident['id'], safe='')}"
        response = self._http.rest_put(path, json=body, headers={"From": email})
        if 400 <= response.status_code < 500:
            error = self._http.error(response, f"the incident's {action} as {email}")
            log.warning("PagerDuty: %s; acting through the Events API instead", error)
            return False
        self._http.json(response, f"the incident's {action}")
        return True
