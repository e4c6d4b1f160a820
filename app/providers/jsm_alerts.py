"""JSM paging: alerts through the Ops REST API as the account, or through an API integration's key.

Both doors are asynchronous: a create answers 202 with a request id, and ``/v1/alerts/requests/{id}`` (Ops
REST API, as the account) says when JSM has processed it and which alert it made. The REST API acts on
alerts by id (an alias is looked up first); the integration API takes the alias itself. Retrying a create
is safe: JSM deduplicates an open alert with the same alias, so a redelivered mention creates nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import quote

from app.domain import AlertRef, AlertRequest, AlertState, AlertStatus
from app.providers import BadResponse
from app.providers.jsm_http import JsmHttp
from app.providers.jsm_parse import alert_body, request_status
from app.providers.opsgenie_wire import alert_state

INTEGRATION = "/jsm/ops/integration/v2/alerts"


class Paging:
    """Raises, follows and acts on alerts; ``integration`` True sends them with JSM_INTEGRATION_KEY."""

    def __init__(self, http: JsmHttp, ops_path: Callable[[str], str], *, integration: bool) -> None:
        self._http = http
        self._ops_path = ops_path
        self.integration = integration

    def create(self, alert: AlertRequest, schedule_id: str) -> str:
        """Ask JSM to raise the alert with the schedule as responder; return its request id."""
        body = alert_body(alert, schedule_id)
        if self.integration:
            response = self._http.integration("POST", INTEGRATION, json=body)
        else:
            response = self._http.ops("POST", self._ops_path("/alerts"), json=body)
        answer = self._http.json(response, "alert creation")
        return _request_id(answer, "alert creation")

    def status(self, request_id: str) -> AlertStatus:
        """Where a request stands: ``done`` False while JSM still processes it (it answers 404 until then)."""
        path = self._ops_path(f"/alerts/requests/{quote(request_id, safe='')}")
        response = self._http.ops("GET", path)
        if response.status_code == 404:
            return AlertStatus(done=False, message="JSM is still processing the alert request")
        body = self._http.json(response, f"alert request '{request_id}'")
        return request_status(body, request_id)

    def act(self, alert: AlertRef, action: str, note: str | None) -> str:
        """Acknowledge or close the alert (adding ``note`` to it); return JSM's request id."""
        body: dict[str, str] = {"source": "oncall-bot"}
        if note:
            body["note"] = note[:25000]
        subject = f"the alert's {action}"
        if self.integration:
            identifier, kind = (alert.alert_id, "id") if alert.alert_id else (alert.alias, "alias")
            path = f"{INTEGRATION}/{quote(identifier, safe='')}/{action}"
            response = self._http.integration("POST", path, params={"identifierType": kind}, json=body)
        else:
            alert_id = alert.alert_id or self._id_of(alert.alias)
            path = self._ops_path(f"/alerts/{quote(alert_id, safe='')}/{action}")
            response = self._http.ops("POST", path, json=body)
        return _request_id(self._http.json(response, subject), subject)

    def probe(self) -> str:
        """Show that paging would be accepted without raising anything; return what was tried.

        The REST API: list alerts with a query no alert matches (a read). The integration API has no
        read: acknowledge an alias no alert has, which JSM accepts (202) and then fails as "Alert does
        not exist", touching no alert.
        """
        nobody = f"oncall-bot-check-{uuid.uuid4().hex}"
        if self.integration:
            path = f"{INTEGRATION}/{nobody}/acknowledge"
            response = self._http.integration(
                "POST", path, params={"identifierType": "alias"}, json={"source": "oncall-bot check"}
            )
            self._http.json(response, "the integration API")
            return "JSM_INTEGRATION_KEY accepted (an acknowledge of an alias no alert has)"
        response = self._http.ops("GET", self._ops_path("/alerts"), params={"query": f"alias: {nobody}"})
        self._http.json(response, "the alert list")
        return "the alert API accepts the account (a search that matches no alert)"

    def state(self, alert: AlertRef) -> AlertState | None:
        """The alert as JSM has it, read through the Ops REST API; None when JSM has no such alert."""
        if alert.alert_id:
            path, params = self._ops_path(f"/alerts/{quote(alert.alert_id, safe='')}"), {}
        else:
            path, params = self._ops_path("/alerts/alias"), {"alias": alert.alias}
        response = self._http.ops("GET", path, params=params)
        if response.status_code == 404:
            return None
        return alert_state(self._http.json(response, "the alert"))

    def _id_of(self, alias: str) -> str:
        response = self._http.ops("GET", self._ops_path("/alerts/alias"), params={"alias": alias})
        if response.status_code == 404:
            raise BadResponse("JSM has no alert with the escalation's alias (was it deleted?)")
        body = self._http.json(response, "the alert")
        alert_id = body.get("id")
        if not isinstance(alert_id, str) or not alert_id:
            raise BadResponse("JSM sent an alert without an id")
        return alert_id


def _request_id(answer: dict[str, object], subject: str) -> str:
    request_id = answer.get("requestId")
    if not isinstance(request_id, str) or not request_id:
        raise BadResponse(f"JSM accepted {subject} but sent no request id")
    return request_id
