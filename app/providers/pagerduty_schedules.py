"""PagerDuty's schedules and people: a schedule setting to its id, its final shifts, users to emails.

A team's ``schedule`` is the schedule's id or its exact name (looked up once). Schedules upgraded to
shift-based ones answer on ``/v3/schedules/{id}``; the reader asks v3 first and falls back to v2 on the
400 a layer-based schedule gives there, and then remembers the shape. Emails are cached for a while.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from app.providers import BadResponse, ScheduleNotFound
from app.providers.pagerduty_http import PagerDutyHttp
from app.providers.pagerduty_parse import format_time, v2_pieces, v3_pieces
from app.providers.pieces import Piece

log = logging.getLogger(__name__)

_ID = re.compile(r"^P[A-Z0-9]{5,13}$")
_V3_HEADERS = {"X-EARLY-ACCESS": "flexible-schedules-early-access"}
_PAGE = 100
_MAX_RECORDS = 10_000


def looks_like_id(schedule: str) -> bool:
    """True when a schedule setting looks like a PagerDuty id rather than a name."""
    return bool(_ID.match(schedule))


class PagerDutySchedules:
    """Reads schedules and users over the REST API, remembering ids, shapes and emails."""

    def __init__(self, http: PagerDutyHttp, monotonic: Callable[[], float], email_ttl: timedelta) -> None:
        self._http = http
        self._monotonic = monotonic
        self._email_ttl = email_ttl.total_seconds()
        self._ids: dict[str, str] = {}  # schedule name -> id, looked up once
        self._shapes: dict[str, int] = {}  # schedule id -> 2 (layer-based) or 3 (shift-based)
        self._emails: dict[str, tuple[str, float]] = {}  # user id -> (email, when read)

    def schedule_id(self, schedule: str) -> str:
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
            for page in self.pages(path, {"query": name}, None, headers=headers):
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

    def read_final(self, schedule: str, start: datetime, end: datetime) -> list[Piece]:
        """The final schedule of a team's ``schedule`` setting, trying it as a name when it was no id."""
        try:
            return self._final(self.schedule_id(schedule), schedule, start, end)
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

    def pages(
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

    def remember_email(self, user_id: str, email: str) -> None:
        """Cache an email PagerDuty sent along (``include[]=users``), saving a ``GET /users/{id}``."""
        self._emails[user_id] = (email, self._monotonic())

    def email(self, user_id: str) -> str:
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
