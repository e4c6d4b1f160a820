"""The PagerDuty provider: REST API v2 (+ v3 schedules) for who is on call, Events API v2 for paging.

People are PagerDuty users translated to their emails (``GET /users/{id}``, cached). A team's
``schedule`` is the schedule's id or its exact name (looked up once). Schedules upgraded to shift-based
ones answer on ``/v3/schedules/{id}``; the provider asks v3 first and falls back to v2 on the 400 a
layer-based schedule gives there, as PagerDuty's upgrade guide recommends, and then remembers the shape.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from app import redaction
from app.domain import AlertRef, AlertRequest, AlertStatus, OnCall, Shift, require_aware
from app.providers import BadCredentials, BadResponse, ScheduleNotFound
from app.providers.pager_http import ClosingProvider
from app.providers.pagerduty_http import REQUESTS_PER_MINUTE, PagerDutyHttp
from app.providers.pagerduty_parse import (
    Piece,
    dedup_key,
    format_time,
    merge,
    oncall_users,
    trigger_event,
    v2_pieces,
    v3_pieces,
)
from app.stopping import Stopping

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.pagerduty.com"  # EU service region: https://api.eu.pagerduty.com
DEFAULT_EVENTS_URL = "https://events.pagerduty.com"  # EU service region: https://events.eu.pagerduty.com
# PagerDuty ids are short runs of capitals and digits starting with P (e.g. PI7DH85).
TOKEN_ENV = "PAGERDUTY_API_TOKEN"  # noqa: S105 - the name of the variable, not a secret
ROUTING_KEY_ENV = "PAGERDUTY_ROUTING_KEY"
_ID = re.compile(r"^P[A-Z0-9]{5,13}$")
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
_V3_HEADERS = {"X-EARLY-ACCESS": "flexible-schedules-early-access"}
_PAGE = 100
_MAX_RECORDS = 10_000
_SECOND = timedelta(seconds=1)


def looks_like_id(schedule: str) -> bool:
    """True when a schedule setting looks like a PagerDuty id rather than a name."""
    return bool(_ID.match(schedule))


class PagerDutyProvider(ClosingProvider):
    """Who is on call and shifts from PagerDuty's REST API; pages through an Events API v2 integration."""

    name = "PagerDuty"
    can_page = True

    def __init__(
        self,
        api_token: str,
        *,
        routing_key: str | None = None,
        base_url: str = DEFAULT_API_URL,
        events_url: str = DEFAULT_EVENTS_URL,
        token_env: str = TOKEN_ENV,
        routing_key_env: str = ROUTING_KEY_ENV,
        timeout: float = 10.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_throttle_wait: float = 15.0,
        requests_per_minute: int = REQUESTS_PER_MINUTE,
        email_ttl: timedelta = timedelta(hours=24),
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        redaction.register(api_token, routing_key)  # every pager registers its credentials in one place
        self._routing_key = routing_key or None
        self._routing_key_env = routing_key_env
        self._monotonic = monotonic
        self._email_ttl = email_ttl.total_seconds()
        self._http: PagerDutyHttp = PagerDutyHttp(
            api_token,
            base_url=base_url,
            events_url=events_url,
            token_env=token_env,
            secrets=(api_token, routing_key or ""),
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_throttle_wait=max_throttle_wait,
            requests_per_minute=requests_per_minute,
            sleep=sleep,
            monotonic=monotonic,
            transport=transport,
        )
        self._ids: dict[str, str] = {}  # schedule name -> id, looked up once
        self._shapes: dict[str, int] = {}  # schedule id -> 2 (layer-based) or 3 (shift-based)
        self._emails: dict[str, tuple[str, float]] = {}  # user id -> (email, when read)

    def interrupt_on(self, stopping: Stopping) -> None:
        """Once ``stopping`` is set, retry nothing and wait out no backoff (the process is shutting down)."""
        self._http.interrupt_on(stopping)

    # -- the Provider protocol -----------------------------------------------------------------------------

    def on_call(self, schedule: str, at: datetime) -> OnCall:
        """Who is on call for ``schedule`` at ``at`` (overrides included), by escalation level, no repeats."""
        at = require_aware(at, "at").astimezone(UTC)
        schedule_id = self._schedule_id(schedule)
        instant = format_time(at)
        params = {"schedule_ids[]": [schedule_id], "since": instant, "until": instant, "include[]": ["users"]}
        users = [user for page in self._pages("/oncalls", params, schedule) for user in oncall_users(page)]
        if not users:
            # On-calls exist only where an escalation policy uses the schedule: ask the schedule itself.
            pieces = self._read_final(schedule, at, at + _SECOND)
            users = [(user, None) for _, user, lo, hi in sorted(pieces, key=lambda p: p[2]) if lo <= at < hi]
        for user, email in users:
            if email:
                self._emails[user] = (email, self._monotonic())
        people = tuple(dict.fromkeys(self._email(user) for user, _ in users))
        return OnCall(schedule=schedule, at=at, people=people)

    def shifts(self, schedule: str, start: datetime, end: datetime) -> list[Shift]:
        """The final shifts of ``schedule`` overlapping ``[start, end)``, clipped, by (start, person)."""
        start, end = require_aware(start, "start").astimezone(UTC), require_aware(end, "end").astimezone(UTC)
        if end <= start:
            return []
        pieces = self._read_final(schedule, start, end)
        shifts = [Shift(self._email(user), lo, hi) for user, lo, hi in merge(pieces, start, end)]
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

    def acknowledge_alert(self, alert: AlertRef, *, note: str | None = None) -> str:
        """Acknowledge the escalation's incident (an ``acknowledge`` event); return its dedup key.

        The Events API carries no note on acknowledge or resolve, so ``note`` is not sent.
        """
        return self._follow_up(alert, "acknowledge")

    def close_alert(self, alert: AlertRef, *, note: str | None = None) -> str:
        """Resolve the escalation's incident (a ``resolve`` event); return its dedup key."""
        return self._follow_up(alert, "resolve")

    def alert_url(self, alert: AlertRef) -> str | None:
        """None: the Events API answers with the dedup key only, never the incident's address."""
        return None

    def _routing_key_or_fail(self) -> str:
        if self._routing_key is None:
            raise BadCredentials(
                f"{self._routing_key_env} is not set: paging needs the Integration Key of an Events API v2 "
                "integration on the service whose escalation policy should be paged"
            )
        return self._routing_key

    def _follow_up(self, alert: AlertRef, action: str) -> str:
        # The alert id we hand out is the dedup key itself; an alias maps to it the same way as on trigger.
        key = alert.alert_id or dedup_key(alert.alias)
        event = {"routing_key": self._routing_key_or_fail(), "event_action": action, "dedup_key": key}
        self._http.enqueue(event, self._routing_key_env)
        return key

    # -- schedules ------------------------------------------------------------------------------------------

    def _schedule_id(self, schedule: str) -> str:
        """The id behind a team's ``schedule`` setting: itself when it looks like one, else by exact name."""
        if schedule in self._ids:
            return self._ids[schedule]
        if looks_like_id(schedule):
            return schedule
        self._ids[schedule] = self._lookup(schedule)
        return self._ids[schedule]

    def _lookup(self, name: str) -> str:
        """Find a schedule by exact name among layer-based (``/schedules``) and shift-based ones."""
        found: list[str] = []
        for path in ("/schedules", "/v3/schedules"):
            headers = _V3_HEADERS if path.startswith("/v3") else None
            for page in self._pages(path, {"query": name}, None, headers=headers):
                items = page.get("schedules")
                if not isinstance(items, list):
                    raise BadResponse("PagerDuty's schedule list has no 'schedules' list")
                found += [
                    str(s["id"]) for s in items if name in (s.get("name"), s.get("summary")) and s.get("id")
                ]
        if not found:
            raise ScheduleNotFound(f"PagerDuty has no schedule '{name}' (by id or exact name)")
        if len(set(found)) > 1:
            raise ScheduleNotFound(
                f"PagerDuty has {len(set(found))} schedules named '{name}': set the team's schedule to the id"
            )
        return found[0]

    def _read_final(self, schedule: str, start: datetime, end: datetime) -> list[Piece]:
        """The final schedule of a team's ``schedule`` setting, trying it as a name when it was no id."""
        try:
            return self._final(self._schedule_id(schedule), schedule, start, end)
        except ScheduleNotFound:
            if schedule in self._ids or not looks_like_id(schedule):
                raise
        # An all-capitals name that merely looked like an id.
        self._ids[schedule] = self._lookup(schedule)
        return self._final(self._ids[schedule], schedule, start, end)

    def _final(self, schedule_id: str, schedule: str, start: datetime, end: datetime) -> list[Piece]:
        """The final schedule over ``[start, end)``: v3 first (or the shape seen last), then the other."""
        window = {"since": format_time(start), "until": format_time(end)}
        order = (2, 3) if self._shapes.get(schedule_id) == 2 else (3, 2)
        subject = f"schedule '{schedule}'"
        for shape in order:
            segment = quote(schedule_id, safe="")
            if shape == 3:
                params = {**window, "include[]": "final_schedule"}
                response = self._http.rest(f"/v3/schedules/{segment}", params=params, headers=_V3_HEADERS)
            else:
                response = self._http.rest(f"/schedules/{segment}", params=window)
            # A schedule of the other shape answers 400 (v3 may answer 404 where v3 is not enabled).
            if response.status_code in (400, 404) and shape == order[0]:
                continue
            body = self._http.json(response, subject, schedule)
            self._shapes[schedule_id] = shape
            return v3_pieces(body, schedule) if shape == 3 else v2_pieces(body, schedule)
        raise AssertionError("unreachable")  # pragma: no cover - the second shape always returns or raises

    def _pages(
        self,
        path: str,
        params: dict[str, Any],
        schedule: str | None,
        *,
        headers: dict[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every page of a classic-paginated list (``limit``/``offset``/``more``), within 10,000 records."""
        offset = 0
        subject = f"schedule '{schedule}'" if schedule else path
        while True:
            query = {**params, "limit": _PAGE, "offset": offset}
            page = self._http.json(self._http.rest(path, params=query, headers=headers), subject, schedule)
            yield page
            offset += int(page.get("limit") or _PAGE)
            if not page.get("more"):
                return
            if offset + _PAGE > _MAX_RECORDS:
                log.warning(
                    "PagerDuty: %s has more than %d records; reading the first ones only", path, _MAX_RECORDS
                )
                return

    # -- people ---------------------------------------------------------------------------------------------

    def _email(self, user_id: str) -> str:
        """A user's email, from the cache while fresh, else ``GET /users/{id}``."""
        cached = self._emails.get(user_id)
        if cached is not None and self._monotonic() - cached[1] < self._email_ttl:
            return cached[0]
        response = self._http.rest(f"/users/{quote(user_id, safe='')}")
        if response.status_code == 404:
            # Deleted since the schedule was read: keep the id so the team's sync still goes through.
            log.warning("PagerDuty user %s no longer exists; shown by id", user_id)
            return user_id
        body = self._http.json(response, f"user '{user_id}'")
        email = (body.get("user") or {}).get("email") if isinstance(body.get("user"), dict) else None
        if not isinstance(email, str) or not email:
            raise BadResponse(f"PagerDuty sent no email for user '{user_id}'")
        self._emails[user_id] = (email, self._monotonic())
        return email
