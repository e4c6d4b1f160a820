"""How the PagerDuty sandbox writes its objects: references, users, schedules, entries and on-calls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from app.sandbox.opsgenie_schedule import default_periods, ordered
from app.sandbox.pagerduty_schedule import Entry

if TYPE_CHECKING:
    from app.sandbox.pagerduty import PagerDutySandbox
    from app.sandbox.pagerduty_state import PdSchedule, PdUser

HTML = "https://sandbox.pagerduty.com"
_UTC = ZoneInfo("UTC")


def when(value: datetime, zone: ZoneInfo) -> str:
    """PagerDuty's rendering of an instant in ``zone``: ``2015-11-09T08:00:00-05:00`` (``Z`` for UTC)."""
    text = value.astimezone(zone).isoformat(timespec="seconds")
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def coverage(entries: Sequence[Entry], since: datetime, until: datetime) -> float:
    """The share of ``[since, until)`` somebody covers, in percent with one decimal (100 for no window)."""
    if until <= since:
        return 100.0
    spans = sorted((max(e.start, since), min(e.end, until)) for e in entries if e.user is not None)
    covered, cursor = timedelta(0), since
    for start, end in spans:
        lo = max(start, cursor)
        if end > lo:
            covered += end - lo
            cursor = end
    return round(100 * (covered / (until - since)), 1)


class Json:
    """Shapes sandbox state as PagerDuty's JSON; ``self`` links point at the sandbox's REST host."""

    def __init__(self, sandbox: PagerDutySandbox) -> None:
        self.sandbox = sandbox

    def _ref(self, kind: str, path: str, object_id: str, summary: str) -> dict[str, Any]:
        return {
            "id": object_id,
            "type": f"{kind}_reference",
            "summary": summary,
            "self": f"{self.sandbox.url}/{path}/{object_id}",
            "html_url": f"{HTML}/{path}/{object_id}",
        }

    def user_ref(self, user_id: str) -> dict[str, Any]:
        """A user reference: id and name, no email (that takes ``GET /users/{id}``)."""
        user = self.sandbox.users[user_id]
        return self._ref("user", "users", user.id, user.name)

    def user(self, user: PdUser) -> dict[str, Any]:
        """The full user object."""
        return {
            **self._ref("user", "users", user.id, user.name),
            "type": "user",
            "name": user.name,
            "email": user.email,
            "time_zone": user.time_zone,
            "role": "user",
            "job_title": "",
            "teams": [],
        }

    def schedule_ref(self, state: PdSchedule) -> dict[str, Any]:
        """A schedule reference as on-calls carry it."""
        return self._ref("schedule", "schedules", state.id, state.name)

    def policy_ref(self, policy: str) -> dict[str, Any]:
        """An escalation policy reference."""
        return self._ref("escalation_policy", "escalation_policies", policy, self.sandbox.policies[policy])

    def schedule_item(self, state: PdSchedule) -> dict[str, Any]:
        """A schedule in a list: full for ``/schedules``, a bare reference for ``/v3/schedules``."""
        if state.version == 3:
            ref = self._ref("schedule_v3", "schedules", state.id, state.name)
            return {**ref, "self": f"{self.sandbox.url}/v3/schedules/{state.id}"}
        return {
            **self.schedule_ref(state),
            "type": "schedule",
            "name": state.name,
            "time_zone": state.time_zone,
            "description": "",
            "escalation_policies": [self.policy_ref(p) for p in state.policies],
            "users": [self.user_ref(u) for u in _members(state)],
            "teams": [],
        }

    def rendered(self, entry: Entry, zone: ZoneInfo) -> dict[str, Any]:
        """A v2 rendered schedule entry."""
        assert entry.user is not None
        return {
            "start": when(entry.start, zone),
            "end": when(entry.end, zone),
            "user": self.user_ref(entry.user),
        }

    def schedule_v2(
        self, state: PdSchedule, since: datetime, until: datetime, zone: ZoneInfo
    ) -> dict[str, Any]:
        """A layer-based schedule with its layers and overrides rendered over ``[since, until)``."""
        layers = []
        for index, layer in enumerate(ordered(state.layers)):
            periods = default_periods(layer, state.tz, since, until)
            layers.append(
                {
                    "id": f"{state.id}L{index + 1}",
                    "name": layer.name,
                    "start": when(layer.start, zone),
                    "end": None,
                    "rotation_virtual_start": when(layer.start, zone),
                    "rotation_turn_length_seconds": int(layer.length.total_seconds()),
                    "users": [{"user": self.user_ref(u)} for u in layer.participants],
                    "restrictions": [],
                    "rendered_schedule_entries": [
                        self.rendered(Entry(p.start, p.end, p.user), zone) for p in periods
                    ],
                }
            )
        overrides = [
            Entry(max(o.start, since), min(o.end, until), o.user)
            for o in state.overrides
            if o.start < until and o.end > since
        ]
        return {
            **self.schedule_item(state),
            "schedule_layers": layers,
            "overrides_subschedule": {
                "name": "Overrides",
                "rendered_schedule_entries": [self.rendered(e, zone) for e in overrides],
            },
        }

    def schedule_v3(self, state: PdSchedule) -> dict[str, Any]:
        """A shift-based schedule: rotations with one recurring event each; no final schedule unless asked."""
        rotations = []
        for layer in ordered(state.layers):
            members = [{"type": "user_member", "user_id": u} for u in layer.participants]
            event = {
                "id": f"{state.id}E{layer.name}",
                "type": "schedule_event",
                "name": layer.name,
                "start_time": {"date_time": when(layer.start, state.tz), "time_zone": state.time_zone},
                "end_time": {
                    "date_time": when(layer.start + layer.length, state.tz),
                    "time_zone": state.time_zone,
                },
                "effective_since": when(layer.start, _UTC),
                "effective_until": None,
                "recurrence": [f"RRULE:FREQ=HOURLY;INTERVAL={int(layer.length.total_seconds() // 3600)}"],
                "assignment_strategy": {
                    "type": "rotating_member_assignment_strategy",
                    "shifts_per_member": 1,
                    "members": members,
                },
            }
            rotations.append(
                {"id": _rotation_id(state, layer.name), "type": "schedule_rotation", "events": [event]}
            )
        return {
            "id": state.id,
            "type": "schedule_v3",
            "name": state.name,
            "description": "",
            "time_zone": state.time_zone,
            "self": f"{self.sandbox.url}/v3/schedules/{state.id}",
            "html_url": f"{HTML}/schedules/{state.id}",
            "escalation_policies": [self.policy_ref(p) for p in state.policies],
            "teams": [],
            "rotations": rotations,
        }

    def assignment(self, state: PdSchedule, entry: Entry, zone: ZoneInfo) -> dict[str, Any]:
        """A v3 computed shift assignment: a user id (or an empty member) and where the shift came from."""
        member = {"type": "user_member", "user_id": entry.user} if entry.user else {"type": "empty_member"}
        source: dict[str, Any] = {"type": "schedule_rotation"}
        if entry.rotation is not None:
            source["rotation_id"] = _rotation_id(state, entry.rotation)
            if entry.override:
                source["type"] = "schedule_rotation_override"
        return {
            "type": "computed_shift_assignment",
            "start_time": when(entry.start, zone),
            "end_time": when(entry.end, zone),
            "member": member,
            "source": source,
        }

    def oncall(
        self, entry: Entry, state: PdSchedule, policy: str, zone: ZoneInfo, full: bool
    ) -> dict[str, Any]:
        """An on-call: one user on one escalation policy's level 1 through this schedule, for a span."""
        assert entry.user is not None
        user = self.user(self.sandbox.users[entry.user]) if full else self.user_ref(entry.user)
        return {
            "escalation_policy": self.policy_ref(policy),
            "escalation_level": 1,
            "schedule": self.schedule_ref(state),
            "user": user,
            "start": when(entry.start, zone),
            "end": when(entry.end, zone),
        }


def _members(state: PdSchedule) -> list[str]:
    return list(dict.fromkeys(u for layer in state.layers for u in layer.participants))


def _rotation_id(state: PdSchedule, name: str) -> str:
    return f"{state.id}R{name}".replace(" ", "_")
