"""The JSM provider: Jira Service Management Operations (Opsgenie's successor) for who is on call and paging.

Auth is HTTP Basic with a real Atlassian account's email and API token (JSM's Operations API refuses
service accounts). The Ops REST API lives on ``{JSM_API_URL}/jsm/ops/api/{cloudId}/v1``; the cloud id is
JSM_CLOUD_ID or read once from ``{JSM_SITE_URL}/_edge/tenant_info``. Paths take schedule ids only, so a
team's ``schedule`` name is looked up once in the schedule list (``jsm_schedules``). People are account
ids, turned into emails by Jira's user API (see ``jsm_people``).

JSM's trap: an account that may not see a schedule's team gets empty on-call lists, not an error. A
timeline with nobody at all over the whole window is therefore said as an AccessDenied sentence, and the
cache keeps what it had.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from app import redaction
from app.domain import AlertRef, AlertRequest, AlertState, AlertStatus, OnCall, Shift, require_aware
from app.providers import AccessDenied
from app.providers.jsm_alerts import Paging
from app.providers.jsm_http import JsmHttp
from app.providers.jsm_parse import format_date, on_call_users, timeline
from app.providers.jsm_people import Account, Directory
from app.providers.jsm_schedules import Schedules
from app.providers.pager_client import ClosingProvider
from app.providers.pieces import Piece
from app.providers.pieces import shifts as pieces_shifts
from app.providers.tuning import DEFAULT_TUNING, Tuning
from app.stopping import Stopping

DEFAULT_API_URL = "https://api.atlassian.com"
TOKEN_ENV = "JSM_API_TOKEN"  # noqa: S105 - the name of the variable, not a secret
# Nobody on call now: is there anyone in the next two weeks? If not, JSM is probably hiding the schedule.
HIDDEN_CHECK = timedelta(days=14)
_WINDOW_MARGIN = timedelta(hours=2)  # DST and sub-second alignment; pieces are clipped anyway
_MAX_TIMELINE_PAGES = 24


class JsmProvider(ClosingProvider):
    """Who is on call, shifts and alerts from JSM Operations."""

    name = "JSM"
    can_page = True
    can_note = True  # POST …/alerts/{id}/notes, as acknowledge and close

    def __init__(
        self,
        email: str,
        api_token: str,
        *,
        site_url: str,
        api_url: str = DEFAULT_API_URL,
        cloud_id: str | None = None,
        integration_key: str | None = None,
        tuning: Tuning = DEFAULT_TUNING,
    ) -> None:
        redaction.register(api_token, integration_key)  # every pager registers its credentials in one place
        self.site_url = site_url.rstrip("/")
        self.email = email
        self._http: JsmHttp = JsmHttp(
            email,
            api_token,
            api_url=api_url,
            site_url=site_url,
            integration_key=integration_key or None,
            secrets=(api_token, integration_key or ""),
            tuning=tuning,
        )
        self.schedules = Schedules(self._http, cloud_id, tuning.monotonic)
        self.people = Directory(self._http, ttl=tuning.email_ttl, monotonic=tuning.monotonic)
        self.paging = Paging(self._http, self.schedules.ops_path, integration=bool(integration_key))

    def interrupt_on(self, stopping: Stopping) -> None:
        """Once ``stopping`` is set, retry nothing and wait out no backoff (the process is shutting down)."""
        self._http.interrupt_on(stopping)

    # -- the Provider protocol ------------------------------------------------------------------------------

    def on_call(self, schedule: str, at: datetime) -> OnCall:
        """Who is on call for ``schedule`` at ``at`` (overrides included), deduplicated, order kept."""
        at = require_aware(at, "at").astimezone(UTC)
        schedule_id = self.schedules.schedule_id(schedule)
        path = self.schedules.ops_path(f"/schedules/{quote(schedule_id, safe='')}/on-calls")
        params = {"flat": "true", "date": format_date(at)}
        body = self.schedules.read(schedule, schedule_id, path, params)
        users = on_call_users(body, schedule)
        if not users:
            pieces, rotations = self._timeline(schedule, schedule_id, at, at + HIDDEN_CHECK)
            if not pieces:
                raise self._hidden(schedule, rotations, at, at + HIDDEN_CHECK)
        people = tuple(dict.fromkeys(self.people.identity(user) for user in users))
        return OnCall(schedule=schedule, at=at, people=people)

    def shifts(self, schedule: str, start: datetime, end: datetime) -> list[Shift]:
        """The final shifts of ``schedule`` overlapping ``[start, end)``, clipped, by (start, person)."""
        start, end = require_aware(start, "start").astimezone(UTC), require_aware(end, "end").astimezone(UTC)
        if end <= start:
            return []
        pieces, rotations = self._timeline(schedule, self.schedules.schedule_id(schedule), start, end)
        if not pieces:
            raise self._hidden(schedule, rotations, start, end)
        return pieces_shifts(pieces, start, end, self.people.identity)  # each rotation is a layer

    def schedule_id(self, schedule: str) -> str:
        """The id behind a team's ``schedule`` setting: itself when it is a UUID, else by exact name."""
        return self.schedules.schedule_id(schedule)

    def check(self) -> None:
        """Raise a ProviderError when the account cannot read JSM; never raises an alert."""
        response = self._http.ops("GET", self.schedules.ops_path("/schedules"), params={"size": 1})
        self._http.json(response, "the schedule list")

    def create_alert(self, alert: AlertRequest) -> str:
        """Ask JSM to raise an alert for the schedule's on-call people; return the request id."""
        return self.paging.create(alert, self.schedules.schedule_id(alert.schedule))

    def alert_status(self, request_id: str) -> AlertStatus:
        """Where an alert request stands: ``done`` False while JSM is still processing it."""
        return self.paging.status(request_id)

    def acknowledge_alert(
        self, alert: AlertRef, *, note: str | None = None, user: str | None = None, email: str | None = None
    ) -> str:
        """Acknowledge the alert (with ``note`` added, which names the person); return JSM's request id."""
        return self.paging.act(alert, "acknowledge", note)

    def close_alert(
        self, alert: AlertRef, *, note: str | None = None, user: str | None = None, email: str | None = None
    ) -> str:
        """Close the alert (with ``note`` added); return JSM's request id."""
        return self.paging.act(alert, "close", note)

    def add_note(self, alert: AlertRef, note: str, *, user: str | None = None) -> str:
        """Add a note to the alert (the note names the person); return JSM's request id."""
        return self.paging.act(alert, "notes", note)

    def alert_state(self, alert: AlertRef) -> AlertState | None:
        """The alert as JSM has it (read with the account, whichever door pages); None when it has none."""
        return self.paging.state(alert)

    def alert_url(self, alert: AlertRef) -> str | None:
        """None: JSM's API answers with no web address for an alert, and the bot does not guess one."""
        return None

    # -- for `oncall-bot check` -----------------------------------------------------------------------------

    def account(self, account_id: str) -> Account:
        """Jira's answer about one account id (email when shown, name), cached."""
        return self.people.account(account_id)

    def on_call_accounts(self, schedule: str, start: datetime, end: datetime) -> list[str]:
        """Every account id with a shift of ``schedule`` in ``[start, end)``, first shift first."""
        pieces, rotations = self._timeline(schedule, self.schedules.schedule_id(schedule), start, end)
        if not pieces:
            raise self._hidden(schedule, rotations, start, end)
        return list(dict.fromkeys(user for _, user, _, _ in sorted(pieces, key=lambda p: p[2])))

    def probe_paging(self) -> str:
        """Show that JSM would accept a page, without raising one; return what was tried."""
        return self.paging.probe()

    def _timeline(
        self, schedule: str, schedule_id: str, start: datetime, end: datetime
    ) -> tuple[list[Piece], int]:
        """The final timeline's pieces over ``[start, end)`` and the most rotations any answer showed."""
        pieces: list[Piece] = []
        rotations = 0
        cursor = start
        path = self.schedules.ops_path(f"/schedules/{quote(schedule_id, safe='')}/timeline")
        for _ in range(_MAX_TIMELINE_PAGES):
            days = max(1, math.ceil((end - cursor + _WINDOW_MARGIN) / timedelta(days=1)))
            params = {"interval": str(days), "intervalUnit": "days", "date": format_date(cursor)}
            body = self.schedules.read(schedule, schedule_id, path, params)
            window_end, page, shown = timeline(body, schedule, end)
            pieces += page
            rotations = max(rotations, shown)
            if window_end >= end or window_end <= cursor:
                break
            cursor = window_end
        return pieces, rotations

    def _hidden(self, schedule: str, rotations: int, start: datetime, end: datetime) -> AccessDenied:
        """Nobody on call anywhere in the window: JSM's silence for an account that may not see it."""
        span = f"from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
        if rotations:
            what = f"JSM shows schedule '{schedule}' with {rotations} rotation(s) but nobody on call {span}"
        else:
            what = f"JSM shows schedule '{schedule}' without rotations or anyone on call {span}"
        return AccessDenied(
            f"{what}: {self.email} probably may not see the schedule's team (JSM answers empty lists "
            "instead of refusing); add the account to that team or give it read-only admin rights"
        )
