"""The PagerDuty provider: REST API v2 (+ v3 schedules) for who is on call, Events API v2 for paging.

People are PagerDuty users translated to their emails; pagerduty_schedules.py reads schedules (by id or
exact name, v3 first and v2 after, as PagerDuty's upgrade guide recommends) and users.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from app import redaction
from app.domain import AlertRef, AlertRequest, AlertState, AlertStatus, OnCall, Shift, require_aware
from app.providers import BadCredentials, BadResponse, NotSupported
from app.providers.pager_client import ClosingProvider
from app.providers.pagerduty_http import REQUESTS_PER_MINUTE, PagerDutyHttp
from app.providers.pagerduty_incidents import PagerDutyIncidents
from app.providers.pagerduty_parse import (
    dedup_key,
    format_time,
    merge,
    oncall_users,
    trigger_event,
)
from app.providers.pagerduty_schedules import PagerDutySchedules
from app.providers.tuning import DEFAULT_TUNING, Tuning
from app.stopping import Stopping

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.pagerduty.com"  # EU service region: https://api.eu.pagerduty.com
DEFAULT_EVENTS_URL = "https://events.pagerduty.com"  # EU service region: https://events.eu.pagerduty.com
# PagerDuty ids are short runs of capitals and digits starting with P (e.g. PI7DH85).
TOKEN_ENV = "PAGERDUTY_API_TOKEN"  # noqa: S105 - the name of the variable, not a secret
ROUTING_KEY_ENV = "PAGERDUTY_ROUTING_KEY"
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
_SECOND = timedelta(seconds=1)


class PagerDutyProvider(ClosingProvider):
    """Who is on call and shifts from PagerDuty's REST API; pages through an Events API v2 integration."""

    name = "PagerDuty"
    can_page = True
    can_note = False  # the Events API takes trigger, acknowledge and resolve only: no notes

    def __init__(
        self,
        api_token: str,
        *,
        routing_key: str | None = None,
        base_url: str = DEFAULT_API_URL,
        events_url: str = DEFAULT_EVENTS_URL,
        token_env: str = TOKEN_ENV,
        routing_key_env: str = ROUTING_KEY_ENV,
        requests_per_minute: int = REQUESTS_PER_MINUTE,
        tuning: Tuning = DEFAULT_TUNING,
    ) -> None:
        redaction.register(api_token, routing_key)  # every pager registers its credentials in one place
        self._routing_key = routing_key or None
        self._routing_key_env = routing_key_env
        self._http: PagerDutyHttp = PagerDutyHttp(
            api_token,
            base_url=base_url,
            events_url=events_url,
            token_env=token_env,
            secrets=(api_token, routing_key or ""),
            requests_per_minute=requests_per_minute,
            tuning=tuning,
        )
        self._schedules = PagerDutySchedules(self._http, tuning.monotonic, tuning.email_ttl)
        self._incidents = PagerDutyIncidents(self._http)

    def interrupt_on(self, stopping: Stopping) -> None:
        """Once ``stopping`` is set, retry nothing and wait out no backoff (the process is shutting down)."""
        self._http.interrupt_on(stopping)

    # -- the Provider protocol -----------------------------------------------------------------------------

    def on_call(self, schedule: str, at: datetime) -> OnCall:
        """Who is on call for ``schedule`` at ``at`` (overrides included), by escalation level, no repeats."""
        at = require_aware(at, "at").astimezone(UTC)
        schedule_id = self._schedules.schedule_id(schedule)
        instant = format_time(at)
        params = {"schedule_ids[]": [schedule_id], "since": instant, "until": instant, "include[]": ["users"]}
        users = [
            user
            for page in self._schedules.pages("/oncalls", params, schedule)
            for user in oncall_users(page)
        ]
        if not users:
            # On-calls exist only where an escalation policy uses the schedule: ask the schedule itself.
            pieces = self._schedules.read_final(schedule, at, at + _SECOND)
            users = [(user, None) for _, user, lo, hi in sorted(pieces, key=lambda p: p[2]) if lo <= at < hi]
        for user, email in users:
            if email:
                self._schedules.remember_email(user, email)
        people = tuple(dict.fromkeys(self._schedules.email(user) for user, _ in users))
        return OnCall(schedule=schedule, at=at, people=people)

    def shifts(self, schedule: str, start: datetime, end: datetime) -> list[Shift]:
        """The final shifts of ``schedule`` overlapping ``[start, end)``, clipped, by (start, person)."""
        start, end = require_aware(start, "start").astimezone(UTC), require_aware(end, "end").astimezone(UTC)
        if end <= start:
            return []
        pieces = self._schedules.read_final(schedule, start, end)
        shifts = [Shift(self._schedules.email(user), lo, hi) for user, lo, hi in merge(pieces, start, end)]
        return sorted(set(shifts), key=lambda s: (s.start, s.person, s.end))

    def check(self) -> None:
        """Raise a ProviderError when the token (or the routing key) cannot be used; never sends an event."""
        self._http.json(self._http.rest("/abilities"), "the account's abilities")
        problem = self.routing_key_problem() if self._routing_key is not None else None
        if problem:
            raise BadCredentials(problem)

    def routing_key_problem(self) -> str | None:
        """Why the routing key cannot be an Events API v2 integration key (None: it can); sends nothing."""
        if self._routing_key is None:
            return f"{self._routing_key_env} is not set"
        if not _ROUTING_KEY.match(self._routing_key):
            return f"{self._routing_key_env} is not an Events API v2 integration key (32 letters and digits)"
        return None

    def create_alert(self, alert: AlertRequest) -> str:
        """Trigger an event for the escalation; PagerDuty processed it once it answers 202: its dedup key."""
        event = trigger_event(alert, self._routing_key_or_fail())
        # Retrying a trigger is safe: PagerDuty folds events with an open incident's dedup_key into it.
        answer = self._http.enqueue(event, self._routing_key_env)
        key = answer.get("dedup_key") or event["dedup_key"]
        if not isinstance(key, str) or not key:
            raise BadResponse("PagerDuty accepted the event but sent no dedup key")
        return key

    def alert_status(self, request_id: str) -> AlertStatus:
        """The Events API is synchronous (202 means processed): the event's incident is its dedup key."""
        return AlertStatus(done=True, success=True, alert_id=request_id, message="Event processed")

    def acknowledge_alert(
        self, alert: AlertRef, *, note: str | None = None, user: str | None = None, email: str | None = None
    ) -> str:
        """Acknowledge the escalation's incident; return its dedup key.

        With the presser's ``email``, through the REST API as that PagerDuty user (credited in the log);
        without it, or when PagerDuty knows no user with it, as an ``acknowledge`` event (no one named).
        The Events API carries no note on acknowledge or resolve, so ``note`` is not sent.
        """
        return self._follow_up(alert, "acknowledge", email)

    def close_alert(
        self, alert: AlertRef, *, note: str | None = None, user: str | None = None, email: str | None = None
    ) -> str:
        """Resolve the escalation's incident (as ``email``'s user where PagerDuty knows them); its key."""
        return self._follow_up(alert, "resolve", email)

    def alert_state(self, alert: AlertRef) -> AlertState | None:
        """The incident of the escalation's dedup key as PagerDuty's REST API has it; None when none."""
        return self._incidents.state(alert.alert_id or dedup_key(alert.alias))

    def add_note(self, alert: AlertRef, note: str, *, user: str | None = None) -> str:
        """Never called (``can_note`` is False): the Events API has no notes; raises NotSupported."""
        raise NotSupported("PagerDuty's Events API cannot add a note to an incident")

    def alert_url(self, alert: AlertRef) -> str | None:
        """The incident's page (its ``html_url``, looked up by dedup key: events answer with the key only)."""
        return self._incidents.url(alert.alert_id or dedup_key(alert.alias))

    def _routing_key_or_fail(self) -> str:
        if self._routing_key is None:
            raise BadCredentials(
                f"{self._routing_key_env} is not set: paging needs the Integration Key of an Events API v2 "
                "integration on the service whose escalation policy should be paged"
            )
        return self._routing_key

    def _follow_up(self, alert: AlertRef, action: str, email: str | None) -> str:
        # The alert id we hand out is the dedup key itself; an alias maps to it the same way as on trigger.
        key = alert.alert_id or dedup_key(alert.alias)
        if email and self._incidents.change(key, action, email):
            return key
        event = {"routing_key": self._routing_key_or_fail(), "event_action": action, "dedup_key": key}
        self._http.enqueue(event, self._routing_key_env)
        return key
