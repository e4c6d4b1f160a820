"""The PagerDuty sandbox's REST endpoints: v2 JSON in and out, v3 schedules, PagerDuty's error shapes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.sandbox.opsgenie_api import Reply
from app.sandbox.pagerduty_json import Json, coverage
from app.sandbox.pagerduty_schedule import Entry

if TYPE_CHECKING:
    from app.sandbox.pagerduty import PagerDutySandbox
    from app.sandbox.pagerduty_state import PdSchedule

log = logging.getLogger(__name__)

Query = Mapping[str, Sequence[str]]
MAX_RANGE = timedelta(days=90)  # /oncalls: since..until at most this long
MAX_RECORDS = 10_000  # classic pagination: offset + limit may not exceed it
# /oncalls reports whole on-call spans; the sandbox looks this far beyond the window for their ends.
_SPAN_REACH = timedelta(days=35)


def pd_error(status: int, message: str, code: int, errors: Sequence[str] = ()) -> Reply:
    """PagerDuty's REST error body: ``{"error": {"message", "code", "errors"}}``."""
    return Reply(status, {"error": {"message": message, "code": code, "errors": list(errors)}})


class _Answer(Exception):
    """Raised deep inside a handler to answer at once (errors, mostly)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _invalid(*errors: str) -> _Answer:
    return _Answer(pd_error(400, "Invalid Input Provided", 2001, errors))


def _one(query: Query, key: str) -> str | None:
    values = query.get(key)
    return values[-1] if values else None


def _date(query: Query, key: str, default: datetime) -> datetime:
    text = _one(query, key)
    if text is None:
        return default
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(f"'{key}' is not a valid ISO 8601 date: {text!r}") from None
    if value.tzinfo is None:
        raise _invalid(f"'{key}' needs a time zone offset: {text!r}")
    return value.astimezone(UTC)


def _zone(query: Query, default: str) -> ZoneInfo:
    name = _one(query, "time_zone") or default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid(f"'time_zone' is not a known time zone: {name!r}") from None


def _page(items: list[Any], query: Query, *, default: int, maximum: int) -> tuple[list[Any], dict[str, Any]]:
    """One page of ``items`` and the pagination fields; a limit above ``maximum`` is lowered to it."""
    try:
        limit = int(_one(query, "limit") or default)
        offset = int(_one(query, "offset") or 0)
    except ValueError:
        raise _invalid("'limit' and 'offset' must be integers") from None
    limit = min(limit, maximum)
    if limit < 1 or offset < 0:
        raise _invalid("'limit' must be positive and 'offset' not negative")
    if offset + limit > MAX_RECORDS:
        raise _invalid(f"Offset plus limit must not exceed {MAX_RECORDS}")
    total = len(items) if _one(query, "total") == "true" else None
    fields = {"limit": limit, "offset": offset, "more": offset + limit < len(items), "total": total}
    return items[offset : offset + limit], fields


def _flag(query: Query, key: str) -> bool:
    return (_one(query, key) or "").lower() == "true"


class Rest:
    """Routes authenticated REST requests; state lives in the sandbox."""

    def __init__(self, sandbox: PagerDutySandbox) -> None:
        self.sandbox = sandbox
        self.json = Json(sandbox)

    def route(self, method: str, path: str, query: Query, headers: Mapping[str, str]) -> Reply:
        """Answer ``method path``; a sandbox bug answers 500 instead of dropping the connection."""
        try:
            return self._dispatch(method, [p for p in path.split("/") if p], query)
        except _Answer as answer:
            return answer.reply
        except Exception as exc:
            log.exception("PagerDuty sandbox failed on %s %s", method, path)
            return pd_error(500, f"PagerDuty sandbox bug: {exc!r}", 2000)

    def _dispatch(self, method: str, segments: list[str], query: Query) -> Reply:  # noqa: PLR0911
        if method != "GET":
            return pd_error(404, "Not Found", 2100)
        # One case per endpoint, like the API reference reads.
        match segments:
            case ["abilities"]:
                return Reply(200, {"abilities": ["teams", "read_only_users", "urgencies", "v3_schedules"]})
            case ["oncalls"]:
                return self._oncalls(query)
            case ["schedules"]:
                return self._list(query, version=2)
            case ["schedules", schedule_id]:
                return self._schedule_v2(self._find(schedule_id, version=2), query)
            case ["v3", "schedules"]:
                return self._list(query, version=3)
            case ["v3", "schedules", schedule_id]:
                return self._schedule_v3(self._find(schedule_id, version=3), query)
            case ["users", user_id]:
                with self.sandbox.lock:
                    user = self.sandbox.users.get(user_id)
                if user is None:
                    return pd_error(404, "Not Found", 2100)
                return Reply(200, {"user": self.json.user(user)})
        return pd_error(404, "Not Found", 2100)

    def _find(self, schedule_id: str, *, version: int) -> PdSchedule:
        with self.sandbox.lock:
            state = self.sandbox.schedules.get(schedule_id)
        if state is None:
            raise _Answer(pd_error(404, "Not Found", 2100))
        if state.denied:
            raise _Answer(pd_error(403, "Access Denied", 2010, ["You do not have access to this schedule"]))
        if state.version != version:
            # PagerDuty's upgrade guide: ask v3 first and fall back to v2 on this 400.
            kind = (
                "layer-based: use /schedules/{id}" if version == 3 else "shift-based: use /v3/schedules/{id}"
            )
            raise _invalid(f"Schedule {schedule_id} is {kind}")
        return state

    def _list(self, query: Query, *, version: int) -> Reply:
        wanted = (_one(query, "query") or "").lower()
        with self.sandbox.lock:
            found = [
                s
                for s in self.sandbox.schedules.values()
                if s.version == version and not s.denied and wanted in s.name.lower()
            ]
            shaped = [self.json.schedule_item(s) for s in sorted(found, key=lambda s: s.name.lower())]
        if version == 3:
            page, fields = _page(shaped, query, default=100, maximum=1000)
            fields.pop("total")  # v3 lists carry no total
        else:
            page, fields = _page(shaped, query, default=25, maximum=100)
        return Reply(200, {"schedules": page, **fields})

    def _window(self, query: Query) -> tuple[datetime, datetime]:
        """A schedule's rendering window: either end defaults to two weeks from the other, or from now."""
        two_weeks = timedelta(weeks=2)
        if "since" not in query and "until" in query:
            until = _date(query, "until", self.sandbox.now())
            since = until - two_weeks
        else:
            since = _date(query, "since", self.sandbox.now())
            until = _date(query, "until", since + two_weeks)
        if until < since:
            raise _invalid("'until' must not be before 'since'")
        return since, until

    def _rendered(self, state: PdSchedule, since: datetime, until: datetime, query: Query) -> list[Entry]:
        if not _flag(query, "overflow"):
            return state.entries(since, until)
        wide = state.entries(since - _SPAN_REACH, until + _SPAN_REACH)
        return [e for e in wide if e.start < until and e.end > since]

    def _schedule_v2(self, state: PdSchedule, query: Query) -> Reply:
        since, until = self._window(query)
        zone = _zone(query, state.time_zone)
        with self.sandbox.lock:
            entries = self._rendered(state, since, until, query)
            body = self.json.schedule_v2(state, since, until, zone)
            body["final_schedule"] = {
                "name": "Final Schedule",
                "rendered_schedule_entries": [self.json.rendered(e, zone) for e in entries],
                "rendered_coverage_percentage": coverage(entries, since, until),
            }
        return Reply(200, {"schedule": body})

    def _schedule_v3(self, state: PdSchedule, query: Query) -> Reply:
        since, until = self._window(query)
        zone = _zone(query, state.time_zone)
        with self.sandbox.lock:
            body = self.json.schedule_v3(state)
            if "final_schedule" in query.get("include[]", []):
                entries = self._rendered(state, since, until, query)
                body["final_schedule"] = {
                    "type": "final_schedule",
                    "rendered_coverage_percentage": coverage(entries, since, until),
                    "computed_shift_assignments": [self.json.assignment(state, e, zone) for e in entries],
                }
        return Reply(200, {"schedule": body})

    def _oncalls(self, query: Query) -> Reply:
        now = self.sandbox.now()
        since, until = _date(query, "since", now), _date(query, "until", now)
        if until < since:
            raise _invalid("'until' must not be before 'since'")
        if until - since > MAX_RANGE:
            raise _invalid("The range between 'since' and 'until' must not exceed 90 days")
        zone = _zone(query, self.sandbox.account_time_zone)
        wanted = [s for s in query.get("schedule_ids[]", []) if s and s != "null"]
        with self.sandbox.lock:
            states = [s for s in self.sandbox.schedules.values() if not wanted or s.id in wanted]
            if any(s.denied for s in states if wanted):
                raise _Answer(pd_error(403, "Access Denied", 2010, ["You do not have access to a schedule"]))
            rows = [
                (entry, state, policy)
                for state in states
                for entry in state.entries(since - _SPAN_REACH, until + _SPAN_REACH)
                if entry.user is not None and _overlaps(entry, since, until)
                for policy in state.policies
            ]
            rows = self._filter(rows, query)
            shaped = [
                self.json.oncall(e, s, p, zone, "users" in query.get("include[]", [])) for e, s, p in rows
            ]
        page, fields = _page(shaped, query, default=25, maximum=100)
        return Reply(200, {"oncalls": page, **fields})

    def _filter(self, rows: list[tuple[Entry, PdSchedule, str]], query: Query) -> list[Any]:
        users, policies = set(query.get("user_ids[]", [])), set(query.get("escalation_policy_ids[]", []))
        rows = [
            (e, s, p)
            for e, s, p in rows
            if (not users or e.user in users) and (not policies or p in policies)
        ]
        rows.sort(key=lambda row: (row[0].start, row[2], row[0].user or ""))
        if not _flag(query, "earliest"):
            return rows
        # Only the earliest on-call per (escalation policy, level, user): every policy here has one level.
        earliest: dict[tuple[str, str | None], tuple[Entry, PdSchedule, str]] = {}
        for row in rows:
            earliest.setdefault((row[2], row[0].user), row)
        return list(earliest.values())


def _overlaps(entry: Entry, since: datetime, until: datetime) -> bool:
    """PagerDuty's rule: an on-call overlapping the range is included (an instant when since == until)."""
    if since == until:
        return entry.start <= since < entry.end
    return entry.start < until and entry.end > since
