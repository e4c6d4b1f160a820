"""A stateful local PagerDuty on 127.0.0.1: REST API v2 (+ v3 schedules) and Events API v2, with faults.

Two servers, like PagerDuty's two hosts: ``url`` answers the REST API (token auth, the versioned Accept
header, 960 requests a minute per token with ``ratelimit-*`` headers) and ``events_url`` the Events API
(routing keys, about 120 events a minute per key, one incident per open ``dedup_key``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote
from zoneinfo import ZoneInfo

from app.sandbox.opsgenie_api import Reply
from app.sandbox.opsgenie_schedule import Override, Rotation
from app.sandbox.pagerduty_events import Events
from app.sandbox.pagerduty_faults import Faults
from app.sandbox.pagerduty_gate import ACCEPT, Gate
from app.sandbox.pagerduty_http import Server
from app.sandbox.pagerduty_incidents import Incidents
from app.sandbox.pagerduty_rest import Rest
from app.sandbox.pagerduty_schedule import people_at
from app.sandbox.pagerduty_state import PdRequest, PdSchedule, PdUser, pd_id

__all__ = ["ACCEPT", "PagerDutySandbox", "PdRequest", "Rotation", "pd_id"]

API_TOKEN = "sandbox-pagerduty-token"
ROUTING_KEY = "R0SANDBOX0ROUTING0KEY00000000001"
_SECOND = timedelta(seconds=1)
_KEPT_HEADERS = ("accept", "authorization", "x-early-access", "from")  # recorded with each request


class PagerDutySandbox:
    """A local PagerDuty speaking its wire formats over real HTTP; every knob is thread-safe."""

    def __init__(
        self,
        api_token: str = API_TOKEN,
        routing_key: str = ROUTING_KEY,
        *,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        account_time_zone: str = "America/New_York",
    ) -> None:
        self.api_token = api_token
        self.routing_key = routing_key
        self.clock = clock
        self.monotonic = monotonic
        self.account_time_zone = account_time_zone
        self.rate_limit = 960  # REST requests per token per minute
        self.events_per_minute = 120  # per routing key
        self.lock = threading.RLock()
        self.users: dict[str, PdUser] = {}
        self.schedules: dict[str, PdSchedule] = {}
        self.policies: dict[str, str] = {}  # escalation policy id -> name
        self.routing_keys: set[str] = {routing_key}
        self.latency = 0.0  # seconds added to every answer
        self.down = False  # every request answers 503 while True
        self.web_url = "https://sandbox.pagerduty.example"  # incidents' html_url start with this
        self.faults = Faults(self)
        self._requests: list[PdRequest] = []
        self._gate = Gate(self)
        self._servers: dict[str, Server] = {}
        self._rest = Rest(self)
        self._incidents = Incidents(self)
        self._events = Events(self)

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> PagerDutySandbox:
        """Bind both hosts to free ports on 127.0.0.1 and serve from daemon threads."""
        self.faults.stopping.clear()
        for role in ("rest", "events"):
            self._servers[role] = Server(role, self.handle)
            self._servers[role].start()
        return self

    def stop(self) -> None:
        """Stop serving; requests still hanging are woken up so nothing outlives the test."""
        self.faults.stopping.set()
        for server in self._servers.values():
            server.stop()
        self._servers.clear()

    def _server(self, role: str) -> Server:
        if role not in self._servers:
            raise RuntimeError("the PagerDuty sandbox is not started")
        return self._servers[role]

    @property
    def url(self) -> str:
        """The REST API's base URL (what ``api.pagerduty.com`` is in production)."""
        return self._server("rest").url

    @property
    def events_url(self) -> str:
        """The Events API's base URL (what ``events.pagerduty.com`` is in production)."""
        return self._server("events").url

    def __enter__(self) -> PagerDutySandbox:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def now(self) -> datetime:
        """The sandbox's idea of now (aware UTC), read at every request so time-machine can move it."""
        value = self.clock() if self.clock is not None else datetime.now(UTC)
        if value.tzinfo is None:
            raise ValueError("the sandbox clock must return aware datetimes")
        return value.astimezone(UTC)

    # -- people and schedules ------------------------------------------------------------------------------

    def add_user(self, email: str, *, name: str | None = None, user_id: str | None = None) -> str:
        """Create a user (or return the existing one's id for ``email``)."""
        with self.lock:
            for user in self.users.values():
                if user.email == email:
                    return user.id
            user = PdUser(
                user_id or pd_id(f"user/{email}"), name or email.split("@", maxsplit=1)[0].title(), email
            )
            self.users[user.id] = user
            return user.id

    def user_id(self, email: str) -> str:
        """The id of the user with ``email`` (KeyError when there is none)."""
        with self.lock:
            for user in self.users.values():
                if user.email == email:
                    return user.id
        raise KeyError(f"no sandbox user {email!r}")

    def _layers(self, layers: Iterable[Rotation]) -> list[Rotation]:
        """Layers as given (people by email) turned into layers of user ids, creating users on the way."""
        return [
            Rotation(r.name, [self.add_user(p) for p in r.participants], r.start, r.length, r.order)
            for r in layers
        ]

    def add_schedule(
        self,
        name: str,
        *,
        schedule_id: str | None = None,
        time_zone: str = "Europe/Amsterdam",
        layers: Iterable[Rotation] = (),
        version: int = 2,
        policies: int = 1,
    ) -> str:
        """Create a schedule (people by email) used by ``policies`` escalation policies; return its id."""
        ZoneInfo(time_zone)  # fail here, not inside a request, on a bad zone name
        if version not in (2, 3):
            raise ValueError("version must be 2 (layer-based) or 3 (shift-based)")
        state = PdSchedule(schedule_id or pd_id(f"schedule/{name}"), name, time_zone, version)
        with self.lock:
            if any(s.name == name or s.id == state.id for s in self.schedules.values()):
                raise ValueError(f"schedule {name!r} (or its id) already exists")
            state.layers = self._layers(layers)
            for index in range(policies):
                policy = pd_id(f"policy/{state.id}/{index}")
                self.policies[policy] = f"{name} policy {index + 1}"
                state.policies.append(policy)
            self.schedules[state.id] = state
        return state.id

    def schedule(self, schedule: str) -> PdSchedule:
        """A schedule by id or name (for the sandbox's own API, never the wire)."""
        with self.lock:
            for state in self.schedules.values():
                if schedule in (state.id, state.name):
                    return state
        raise KeyError(f"no sandbox schedule {schedule!r}")

    def set_layers(self, schedule: str, layers: Iterable[Rotation]) -> None:
        """Replace a schedule's layers (a roster change); overrides stay."""
        with self.lock:
            self.schedule(schedule).layers = self._layers(layers)

    def upgrade(self, schedule: str) -> None:
        """Turn a layer-based schedule into a shift-based (v3) one; its id stays, like PagerDuty's tool."""
        with self.lock:
            self.schedule(schedule).version = 3

    def add_override(
        self, schedule: str, email: str, start: datetime, end: datetime, *, rotation: str | None = None
    ) -> Override:
        """During ``[start, end)`` the person with ``email`` is on call instead (v3: of ``rotation``)."""
        override = Override(self.add_user(email), start, end, rotation)
        with self.lock:
            self.schedule(schedule).overrides.append(override)
        return override

    def on_call_at(self, schedule: str, at: datetime) -> list[str]:
        """The sandbox's own truth: the emails of everyone on call at ``at``."""
        at = at.astimezone(UTC)
        with self.lock:
            people = people_at(self.schedule(schedule).entries(at, at + _SECOND), at)
            return [self.users[p].email for p in people]

    def deny_schedule(self, schedule: str) -> None:
        """From now on this token may not read the schedule (403, like a token without the team's access)."""
        with self.lock:
            self.schedule(schedule).denied = True

    def add_routing_key(self, routing_key: str) -> None:
        """Accept events for another integration (another service's Events API v2 key)."""
        with self.lock:
            self.routing_keys.add(routing_key)

    # -- faults ----------------------------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        path_contains: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
    ) -> None:
        """The next ``times`` matching requests answer ``status`` (PagerDuty's error body unless ``body``)."""
        self.faults.fail(status, times=times, path_contains=path_contains, headers=headers, body=body)

    def hang(self, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` requests sleep ``seconds`` before answering."""
        self.faults.hang(seconds, times=times)

    # -- inspection ----------------------------------------------------------------------------------------

    def requests(self, path_contains: str | None = None, *, host: str | None = None) -> list[PdRequest]:
        """Every request answered, oldest first, optionally filtered on the decoded path and the host."""
        with self.lock:
            return [
                r
                for r in self._requests
                if (path_contains is None or path_contains in r.path) and host in (None, r.host)
            ]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self.lock:
            self._requests.clear()

    def events(self) -> list[dict[str, Any]]:
        """Events accepted by ``/v2/enqueue`` (bodies as received), oldest first."""
        with self.lock:
            return [dict(event) for event in self._events.accepted]

    def incidents(self) -> list[dict[str, Any]]:
        """Incidents opened by trigger events, oldest first (``status``, ``dedup_key``, ``triggers`` …)."""
        with self.lock:
            return [dict(incident) for incident in self._events.incidents]

    def incident_store(self) -> list[dict[str, Any]]:
        """The incidents themselves (not copies), for the REST side; hold ``lock`` while using them."""
        return self._events.incidents

    def resolve_incident(self, dedup_key: str, *, by: str | None = None) -> None:
        """Someone resolves the incident in PagerDuty's web app (outside Slack); ``by`` is their email."""
        with self.lock:
            user = next((u for u in self.users.values() if u.email == by), None)
            for incident in self._events.incidents:
                if incident["dedup_key"] == dedup_key and incident["status"] != "resolved":
                    incident["status"] = "resolved"
                    if user is not None:
                        changed_by = {"id": user.id, "type": "user_reference", "summary": user.name}
                        incident["changed_by"] = changed_by

    # -- request handling ----------------------------------------------------------------------------------

    def handle(self, role: str, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one HTTP request; called from the servers' threads."""
        at = time.monotonic()
        raw_path, _, raw_query = target.partition("?")
        path = unquote(raw_path)
        query = parse_qs(raw_query, keep_blank_values=True)
        self.faults.delay()
        reply = self.faults.injected(path)
        if reply is None and role == "events":
            reply = self._events.route(method, path, body)
        elif reply is None:
            reply = self._gate.authenticate(headers) or self._gate.throttle(headers)
            if reply is None:
                segments = [part for part in path.split("/") if part]
                if segments[:1] == ["incidents"]:
                    reply = self._incidents.route(method, segments, query, headers, body)
                else:
                    reply = self._rest.route(method, path, query, headers)
                reply.headers.update(self._gate.rate_headers(headers))
        with self.lock:
            kept = {k: v for k, v in headers.items() if k in _KEPT_HEADERS}
            self._requests.append(PdRequest(role, method, path, query, kept, _json(body), at, reply.status))
        return reply


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
