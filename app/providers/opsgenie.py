"""The Opsgenie provider: REST v2 over httpx, translated into domain values and narrow errors at the edge."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from app import redaction
from app.domain import AlertRef, AlertRequest, AlertState, AlertStatus, OnCall, Shift, require_aware
from app.providers import BadResponse
from app.providers import opsgenie_wire as wire
from app.providers.opsgenie_http import OpsgenieHttp
from app.providers.pager_client import ClosingProvider
from app.providers.pieces import Piece
from app.providers.pieces import shifts as pieces_shifts
from app.providers.tuning import DEFAULT_TUNING, Tuning
from app.stopping import Stopping

# The timeline may answer a shorter window than asked (alignment, DST); we ask again from where it stopped.
_MAX_TIMELINE_PAGES = 24
_WINDOW_MARGIN = timedelta(hours=2)


class OpsgenieProvider(ClosingProvider):
    """Who is on call, shifts and alerts from Opsgenie's REST API v2."""

    name = "Opsgenie"
    can_page = True
    can_note = True  # POST /v2/alerts/{id}/notes

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.opsgenie.com",
        *,
        web_url: str | None = None,
        key_variable: str = "OPSGENIE_API_KEY",
        tuning: Tuning = DEFAULT_TUNING,
    ) -> None:
        redaction.register(api_key)  # every pager registers its credential where the redaction lives
        self._web_url = web_url.rstrip("/") if web_url else None
        self._http: OpsgenieHttp = OpsgenieHttp(
            api_key,
            base_url=base_url,
            key_variable=key_variable,
            tuning=tuning,
        )

    def interrupt_on(self, stopping: Stopping) -> None:
        """Once ``stopping`` is set, retry nothing and wait out no backoff (the process is shutting down)."""
        self._http.interrupt_on(stopping)

    # -- the Provider protocol -----------------------------------------------------------------------------

    def on_call(self, schedule: str, at: datetime) -> OnCall:
        """Who is on call for ``schedule`` at ``at`` (overrides included), deduplicated, order kept."""
        params = {"scheduleIdentifierType": wire.kind(schedule), "flat": "true", "date": wire.format_date(at)}
        path = f"{wire.schedule_path(schedule)}/on-calls"
        data = self._http.data("GET", path, subject=wire.subject(schedule), schedule=schedule, params=params)
        recipients = data.get("onCallRecipients", [])
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            raise BadResponse(f"Opsgenie sent an unexpected on-call list for schedule '{schedule}'")
        return OnCall(schedule=schedule, at=at.astimezone(UTC), people=tuple(dict.fromkeys(recipients)))

    def shifts(self, schedule: str, start: datetime, end: datetime) -> list[Shift]:
        """The final shifts of ``schedule`` overlapping ``[start, end)``, clipped, by (start, person)."""
        start, end = require_aware(start, "start").astimezone(UTC), require_aware(end, "end").astimezone(UTC)
        if end <= start:
            return []
        pieces: list[Piece] = []
        cursor = start
        for _ in range(_MAX_TIMELINE_PAGES):
            window_end, page = self._timeline(schedule, cursor, end)
            pieces.extend(page)
            if window_end >= end or window_end <= cursor:
                break
            cursor = window_end
        return pieces_shifts(pieces, start, end)

    def check(self) -> None:
        """Raise a ProviderError when the key cannot be used; return quietly otherwise."""
        self._http.data("GET", "/v2/account", subject="the account")

    def create_alert(self, alert: AlertRequest) -> str:
        """Ask Opsgenie to raise an alert for the schedule's on-call people; return the request id."""
        # Retrying a POST is safe here: Opsgenie deduplicates open alerts on the alias.
        body = self._http.answer("POST", "/v2/alerts", subject="alert creation", json=wire.alert_body(alert))
        request_id = body.get("requestId")
        if not isinstance(request_id, str) or not request_id:
            raise BadResponse("Opsgenie accepted the alert but sent no request id")
        return request_id

    def alert_status(self, request_id: str) -> AlertStatus:
        """Where an alert request stands: ``done`` False while Opsgenie is still processing it."""
        path = f"/v2/alerts/requests/{quote(request_id, safe='')}"
        response = self._http.send("GET", path)
        pending = response.headers.get("X-Opsgenie-Errortype") == "RequestNotProcessed"
        if response.status_code == 404 and pending:
            return AlertStatus(done=False, message="Opsgenie is still processing the alert request")
        if response.status_code == 404:
            raise BadResponse(f"Opsgenie knows no alert request '{request_id}' (HTTP 404)")
        subject = f"alert request '{request_id}'"
        data = self._http.data_of(self._http.json(response, subject), subject)
        success = bool(data.get("success", data.get("isSuccess", False)))
        alert_id = data.get("alertId")
        return AlertStatus(
            done=True,
            success=success,
            alert_id=alert_id if isinstance(alert_id, str) and alert_id else None,
            message=str(data.get("status", "")),
        )

    def acknowledge_alert(
        self, alert: AlertRef, *, note: str | None = None, user: str | None = None, email: str | None = None
    ) -> str:
        """Acknowledge the alert (by id when known, else by alias); return Opsgenie's request id."""
        return self._alert_action(alert, "acknowledge", note, user)

    def close_alert(
        self, alert: AlertRef, *, note: str | None = None, user: str | None = None, email: str | None = None
    ) -> str:
        """Close the alert (by id when known, else by alias); return Opsgenie's request id."""
        return self._alert_action(alert, "close", note, user)

    def alert_state(self, alert: AlertRef) -> AlertState | None:
        """``GET /v2/alerts/{id or alias}``: the alert as Opsgenie has it; None when it has no such alert."""
        identifier, kind = (alert.alert_id, "id") if alert.alert_id else (alert.alias, "alias")
        path = f"/v2/alerts/{quote(identifier, safe='')}"
        response = self._http.send("GET", path, params={"identifierType": kind})
        if response.status_code == 404:
            return None
        state = wire.alert_state(self._http.data_of(self._http.json(response, "the alert"), "the alert"))
        return replace(state, url=self.alert_url(AlertRef(alert.alias, state.alert_id)))

    def add_note(self, alert: AlertRef, note: str, *, user: str | None = None) -> str:
        """Add a note to the alert (by id when known, else by alias); return Opsgenie's request id."""
        return self._alert_action(alert, "notes", note, user)

    def alert_url(self, alert: AlertRef) -> str | None:
        """The alert's page in Opsgenie's web app, when OPSGENIE_WEB_URL is set and the alert id known."""
        if not self._web_url or not alert.alert_id:
            return None
        return f"{self._web_url}/alert/detail/{quote(alert.alert_id, safe='')}/details"

    def _alert_action(self, alert: AlertRef, action: str, note: str | None, user: str | None) -> str:
        identifier, kind = (alert.alert_id, "id") if alert.alert_id else (alert.alias, "alias")
        path = f"/v2/alerts/{quote(identifier, safe='')}/{action}"
        body: dict[str, Any] = {"source": "oncall-bot"}
        if note:
            body["note"] = wire.trim(note, 25000)
        if user:
            body["user"] = wire.trim(user, 100)  # the person credited in the alert's log
        subject = f"the alert's {action}"
        answer = self._http.answer("POST", path, subject=subject, params={"identifierType": kind}, json=body)
        request_id = answer.get("requestId")
        if not isinstance(request_id, str) or not request_id:
            raise BadResponse(f"Opsgenie accepted {subject} but sent no request id")
        return request_id

    # -- timeline -------------------------------------------------------------------------------------------

    def _timeline(self, schedule: str, start: datetime, end: datetime) -> tuple[datetime, list[Piece]]:
        """One timeline request from ``start``: where its window ends, and its pieces."""
        # Opsgenie counts days on the schedule's wall clock and drops sub-seconds: ask for a little more
        # (a DST hour, a fraction of a second) so one request covers the window; pieces are clipped anyway.
        days = max(1, math.ceil((end - start + _WINDOW_MARGIN) / timedelta(days=1)))
        params = {
            # Not scheduleIdentifierType: the timeline silently ignores that one and looks up by id.
            "identifierType": wire.kind(schedule),
            "intervalUnit": "days",
            "interval": str(days),
            "date": wire.format_date(start),
        }
        path = f"{wire.schedule_path(schedule)}/timeline"
        data = self._http.data("GET", path, subject=wire.subject(schedule), schedule=schedule, params=params)
        window_end = wire.parse_date(data["endDate"]) if "endDate" in data else end
        try:
            rotations = (data.get("finalTimeline") or {}).get("rotations") or []
            pieces = [
                piece
                for index, rotation in enumerate(rotations)
                for period in rotation.get("periods") or []
                for piece in wire.period_pieces(
                    # By name: it is the layer people see ("primary", "secondary").
                    str(rotation.get("name") or rotation.get("id") or index),
                    period,
                )
            ]
        except (AttributeError, KeyError, TypeError) as exc:
            raise BadResponse(f"Opsgenie sent a timeline we cannot read for schedule '{schedule}'") from exc
        return window_end, pieces
