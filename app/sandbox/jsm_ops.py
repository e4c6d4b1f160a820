"""The JSM sandbox's Ops REST API (``/jsm/ops/api/{cloudId}/v1``): schedules, on-calls and timelines.

JSON bodies are top level (no Opsgenie ``data`` envelope), lists are ``{"values", "links": {"next"}}``
paged by ``offset``/``size``, schedules are addressed by id only, and people are account ids. A schedule
the account may not see answers empty lists, never an error.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.sandbox.jsm_faults import ops_error
from app.sandbox.opsgenie_api import Reply
from app.sandbox.opsgenie_schedule import (
    Period,
    Rotation,
    exact_next,
    format_date,
    next_per_rotation,
    on_call_at,
    ordered,
    parse_date,
    rotation_periods,
    window_end,
)

if TYPE_CHECKING:
    from app.sandbox.jsm import JsmSandbox, JsmSchedule

log = logging.getLogger(__name__)

Query = dict[str, list[str]]
BACK = timedelta(days=366)  # the timeline reaches at most a year back ...
AHEAD = timedelta(days=731)  # ... and two years ahead


class _Answer(Exception):
    """Raised deep inside a handler to answer at once (errors, mostly)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _one(query: Query, key: str, default: str | None = None) -> str | None:
    values = query.get(key)
    return values[-1] if values else default


def _int(query: Query, key: str, default: int) -> int:
    text = _one(query, key)
    try:
        return default if text is None else int(text)
    except ValueError:
        raise _Answer(ops_error(400, f"'{key}' must be an integer, got {text!r}")) from None


class OpsApi:
    """Routes Ops API requests (after authentication); alert routes go to the sandbox's alert store."""

    def __init__(self, sandbox: JsmSandbox) -> None:
        self.sandbox = sandbox

    def route(self, method: str, segments: list[str], query: Query, body: bytes) -> Reply:
        """Answer ``/v1/<segments>``."""
        try:
            if not self.sandbox.entitled:
                return ops_error(403, "The user is not entitled to use the Operations API", "FORBIDDEN")
            return self._dispatch(method, segments, query, body)
        except _Answer as answer:
            return answer.reply
        except Exception as exc:
            # A sandbox bug must show up as an answer in the test, not as a dropped connection.
            log.exception("JSM sandbox failed on %s /v1/%s", method, "/".join(segments))
            return ops_error(500, f"JSM sandbox bug: {exc!r}", "INTERNAL")

    def _dispatch(self, method: str, segments: list[str], query: Query, body: bytes) -> Reply:
        match method, segments:
            case "GET", ["schedules"]:
                reply = self._schedules(query)
            case "GET", ["schedules", schedule_id]:
                reply = Reply(200, self._schedule_json(self._find(schedule_id), rotations=True))
            case "GET", ["schedules", schedule_id, "on-calls"]:
                reply = self._on_calls(self._find(schedule_id), query)
            case "GET", ["schedules", schedule_id, "next-on-calls"]:
                reply = self._next_on_calls(self._find(schedule_id), query)
            case "GET", ["schedules", schedule_id, "timeline"]:
                reply = self._timeline(self._find(schedule_id), query)
            case (_, ["alerts", *rest]):
                reply = self.sandbox.alerts_api.rest(method, rest, query, body)
            case _:
                reply = ops_error(404, f"No handler found for {method} /v1/{'/'.join(segments)}")
        return reply

    def _find(self, schedule_id: str) -> JsmSchedule:
        with self.sandbox.lock:
            found = self.sandbox.schedules.get(schedule_id)
        if found is None:
            raise _Answer(ops_error(404, f"No schedule exists with id [{schedule_id}]"))
        if found.denied:
            raise _Answer(ops_error(403, "You are not authorized to access this schedule"))
        return found

    # -- schedules ------------------------------------------------------------------------------------------

    def _schedules(self, query: Query) -> Reply:
        offset, size = _int(query, "offset", 0), _int(query, "size", 20)
        if offset < 0 or size < 1:
            raise _Answer(ops_error(400, "offset must not be negative and size must be positive"))
        size = min(size, self.sandbox.max_page_size)
        expand = "rotation" in (_one(query, "expand") or "")
        with self.sandbox.lock:
            listed = sorted(self.sandbox.schedules.values(), key=lambda s: s.name.lower())
            values = [self._schedule_json(s, rotations=expand) for s in listed[offset : offset + size]]
            more = offset + size < len(listed)
        following = f"{self.sandbox.ops_url}/v1/schedules?offset={offset + size}&size={size}"
        if expand:
            following += "&expand=rotation"
        return Reply(200, {"values": values, "links": {"next": following if more else None}})

    def _schedule_json(self, state: JsmSchedule, *, rotations: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": state.id,
            "name": state.name,
            "description": "",
            "timezone": state.timezone,
            "enabled": state.enabled,
            "teamId": state.team_id,
        }
        if rotations:
            body["rotations"] = [_rotation_json(state, r) for r in ordered(state.rotations)]
        return body

    # -- on-calls and timeline ------------------------------------------------------------------------------

    def _date(self, query: Query, key: str = "date") -> datetime:
        text = _one(query, key)
        if text is None:
            return self.sandbox.now()
        try:
            return parse_date(text)
        except ValueError:
            # An unescaped '+' arrives as a space and lands here: the real API refuses it too.
            raise _Answer(ops_error(400, f"Date [{text}] is not in ISO 8601 format")) from None

    def _people_at(self, state: JsmSchedule, at: datetime) -> list[str]:
        if state.hidden:
            return []
        return on_call_at(state.rotations, state.overrides, state.tz, at)

    def _on_calls(self, state: JsmSchedule, query: Query) -> Reply:
        with self.sandbox.lock:
            people = self._people_at(state, self._date(query))
        if (_one(query, "flat") or "false").lower() == "true":
            return Reply(200, {"onCallUsers": people})
        return Reply(200, {"onCallParticipants": [{"id": p, "type": "user"} for p in people]})

    def _next_on_calls(self, state: JsmSchedule, query: Query) -> Reply:
        after = self._date(query)
        with self.sandbox.lock:
            upcoming, exact = [], []
            if not state.hidden:
                upcoming = next_per_rotation(state.rotations, state.overrides, state.tz, after)
                exact = exact_next(state.rotations, state.overrides, state.tz, after)
        if (_one(query, "flat") or "false").lower() == "true":
            return Reply(200, {"nextOnCallUsers": upcoming, "exactNextOnCallUsers": exact})
        return Reply(
            200,
            {
                "nextOnCallParticipants": [{"id": p, "type": "user"} for p in upcoming],
                "exactNextOnCallParticipants": [{"id": p, "type": "user"} for p in exact],
            },
        )

    def _timeline(self, state: JsmSchedule, query: Query) -> Reply:
        start = self._date(query)
        unit = _one(query, "intervalUnit", "weeks")
        interval = _int(query, "interval", 1)
        if unit not in ("days", "weeks", "months") or interval < 1:
            message = "interval must be a positive integer and intervalUnit one of days, weeks, months"
            raise _Answer(ops_error(400, message))
        end = window_end(start, interval, unit or "weeks", state.tz)
        now = self.sandbox.now()
        if start < now - BACK or end > now + AHEAD:
            raise _Answer(ops_error(400, "The timeline reaches at most one year back and two years ahead"))
        expand = _one(query, "expand") or ""
        with self.sandbox.lock:
            rotations = ordered(state.rotations)
            final = [
                (r, [] if state.hidden else rotation_periods(r, state.overrides, state.tz, start, end))
                for r in rotations
            ]
        body: dict[str, Any] = {
            "startDate": format_date(start),
            "endDate": format_date(end),
            "finalTimeline": {"rotations": [_timeline_rotation(state, r, p) for r, p in final]},
        }
        if "override" in expand:
            overrides = [(r, [p for p in periods if p.type == "override"]) for r, periods in final]
            body["overrideTimeline"] = {"rotations": [_timeline_rotation(state, r, p) for r, p in overrides]}
        return Reply(200, body)


def _rotation_id(state: JsmSchedule, rotation: Rotation) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jsm/{state.id}/{rotation.name}"))


def _rotation_json(state: JsmSchedule, rotation: Rotation) -> dict[str, Any]:
    return {
        "id": _rotation_id(state, rotation),
        "name": rotation.name,
        "order": rotation.order,
        "startDate": format_date(rotation.start),
        "participants": [{"type": "user", "id": p} for p in rotation.participants],
    }


def _timeline_rotation(state: JsmSchedule, rotation: Rotation, periods: list[Period]) -> dict[str, Any]:
    return {
        "id": _rotation_id(state, rotation),
        "name": rotation.name,
        "order": rotation.order,
        "periods": [
            {
                "startDate": format_date(p.start),
                "endDate": format_date(p.end),
                "type": p.type,
                "responder": {"id": p.user, "type": "user"},
            }
            for p in periods
        ],
    }
