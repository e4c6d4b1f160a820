"""A stateful local Jira Service Management Operations on 127.0.0.1, with JSM's wire formats and errors.

Two servers, like production's two hosts. ``api_url`` plays api.atlassian.com: the Ops REST API under
``/jsm/ops/api/{cloudId}/v1`` (HTTP Basic with an account's email and API token) and an API integration's
Opsgenie-style alert API under ``/jsm/ops/integration/v2`` (``GenieKey``). ``site_url`` plays
yourcompany.atlassian.net: ``/_edge/tenant_info`` (the cloud id) and Jira's ``/rest/api/3/user``.

People are Atlassian account ids on the wire; their email shows only when their privacy setting says so.
A schedule the account may not see is the JSM trap: it is listed, but its on-calls and timeline come back
empty instead of refused (``hide_schedule``).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote
from zoneinfo import ZoneInfo

from app.sandbox.jsm_alerts import Alerts
from app.sandbox.jsm_faults import Faults, gateway_error
from app.sandbox.jsm_ops import OpsApi
from app.sandbox.jsm_site import site_route
from app.sandbox.opsgenie_api import Reply
from app.sandbox.opsgenie_api import error as genie_error
from app.sandbox.opsgenie_schedule import Override, Rotation, on_call_at
from app.sandbox.pagerduty_http import Server

__all__ = ["JsmRequest", "JsmSandbox", "Rotation", "account_id_for"]

EMAIL = "oncall-bot@corp.example"
API_TOKEN = "sandbox-jsm-api-token"
INTEGRATION_KEY = "sandbox-jsm-integration-key"
CLOUD_ID = "8a4f6c1e-5d2b-4e7a-9c3f-0b1d2e3f4a5b"
_ACCOUNTS = uuid.UUID("0f6a2c4e-8b1d-4f3a-9e5c-7d2b1a0c3e4f")
_TEAMS = uuid.UUID("1e7b3d5f-9c2e-4a4b-8f6d-6e3c2b1d0f5a")


def account_id_for(email: str) -> str:
    """A stable Atlassian-style account id (``557058:<uuid>``) for a sandbox person."""
    return f"557058:{uuid.uuid5(_ACCOUNTS, email.lower())}"


@dataclass(frozen=True)
class JsmRequest:
    """One request answered: ``host`` is "api" or "site"; ``query`` keeps every value of each key."""

    host: str
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str
    body: Any
    at: float
    status: int


@dataclass
class JsmUser:
    """An Atlassian account: the id on the wire, and an email only some may see."""

    account_id: str
    display_name: str
    email: str
    email_visible: bool = True
    active: bool = True
    time_zone: str = "Europe/Amsterdam"


@dataclass
class JsmSchedule:
    """One schedule; rotation participants are account ids."""

    id: str
    name: str
    timezone: str
    team_id: str
    enabled: bool = True
    rotations: list[Rotation] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    hidden: bool = False  # the account may not see it: listed, yet its on-calls and timeline are empty
    denied: bool = False  # the account gets 403 on it

    @property
    def tz(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)


class JsmSandbox:
    """A local JSM Operations and Jira site speaking their wire formats; every knob is thread-safe."""

    def __init__(
        self,
        email: str = EMAIL,
        api_token: str = API_TOKEN,
        integration_key: str = INTEGRATION_KEY,
        *,
        cloud_id: str = CLOUD_ID,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.email = email
        self.api_token = api_token
        self.integration_key = integration_key
        self.cloud_id = cloud_id
        self.clock = clock
        self.lock = threading.RLock()
        self.users: dict[str, JsmUser] = {}
        self.schedules: dict[str, JsmSchedule] = {}
        self.max_page_size = 100  # the largest ``size`` a list honours
        self.alert_processing_polls = 1  # request-status polls answered "not processed yet" first
        self.entitled = True  # False: the account may not use the Ops API at all (a service account)
        self.latency = 0.0
        self.down = False  # every request answers 503 while True
        self.faults = Faults(self)
        self.alerts_api = Alerts(self)
        self._ops = OpsApi(self)
        self._requests: list[JsmRequest] = []
        self._servers: dict[str, Server] = {}

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> JsmSandbox:
        """Bind both hosts to free ports on 127.0.0.1 and serve from daemon threads."""
        self.faults.stopping.clear()
        for role in ("api", "site"):
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
            raise RuntimeError("the JSM sandbox is not started")
        return self._servers[role]

    @property
    def api_url(self) -> str:
        """What ``https://api.atlassian.com`` is in production."""
        return self._server("api").url

    @property
    def site_url(self) -> str:
        """What ``https://yourcompany.atlassian.net`` is in production."""
        return self._server("site").url

    @property
    def ops_url(self) -> str:
        """The Ops REST API's base, ``{api}/jsm/ops/api/{cloudId}``."""
        return f"{self.api_url}/jsm/ops/api/{self.cloud_id}"

    def __enter__(self) -> JsmSandbox:
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

    # -- people and schedules -------------------------------------------------------------------------------

    def add_user(
        self,
        email: str,
        *,
        name: str | None = None,
        account_id: str | None = None,
        email_visible: bool = True,
    ) -> str:
        """Create an account (or return the id of ``email``'s); ``email_visible`` False hides the email."""
        with self.lock:
            for user in self.users.values():
                if user.email == email:
                    return user.account_id
            display = name or email.split("@", maxsplit=1)[0].title()
            user = JsmUser(account_id or account_id_for(email), display, email, email_visible)
            self.users[user.account_id] = user
            return user.account_id

    def account_id(self, email: str) -> str:
        """The account id of the person with ``email`` (KeyError when there is none)."""
        with self.lock:
            for user in self.users.values():
                if user.email == email:
                    return user.account_id
        raise KeyError(f"no sandbox account {email!r}")

    def set_email_visible(self, email: str, visible: bool) -> None:
        """Change a person's privacy setting for their email."""
        with self.lock:
            self.users[self.account_id(email)].email_visible = visible

    def _rotations(self, rotations: Iterable[Rotation]) -> list[Rotation]:
        """Rotations given with people by email, as rotations of account ids (accounts created on the way)."""
        return [
            Rotation(r.name, [self.add_user(p) for p in r.participants], r.start, r.length, r.order)
            for r in rotations
        ]

    def add_schedule(
        self,
        name: str,
        *,
        schedule_id: str | None = None,
        timezone: str = "Europe/Amsterdam",
        rotations: Iterable[Rotation] = (),
        enabled: bool = True,
    ) -> str:
        """Create a schedule (rotation participants by email) and return its id."""
        ZoneInfo(timezone)  # fail here, not inside a request, on a bad zone name
        state = JsmSchedule(
            schedule_id or str(uuid.uuid4()), name, timezone, str(uuid.uuid5(_TEAMS, name)), enabled
        )
        with self.lock:
            if any(s.name == name or s.id == state.id for s in self.schedules.values()):
                raise ValueError(f"schedule {name!r} (or its id) already exists")
            state.rotations = self._rotations(rotations)
            self.schedules[state.id] = state
        return state.id

    def schedule(self, schedule: str) -> JsmSchedule:
        """A schedule by id or name (for the sandbox's own API, never the wire)."""
        with self.lock:
            for state in self.schedules.values():
                if schedule in (state.id, state.name):
                    return state
        raise KeyError(f"no sandbox schedule {schedule!r}")

    def set_rotations(self, schedule: str, rotations: Iterable[Rotation]) -> None:
        """Replace a schedule's rotations (people by email); overrides stay."""
        with self.lock:
            self.schedule(schedule).rotations = self._rotations(rotations)

    def add_override(
        self, schedule: str, email: str, start: datetime, end: datetime, *, rotation: str | None = None
    ) -> Override:
        """During ``[start, end)`` the person with ``email`` replaces ``rotation``'s (every rotation's)."""
        override = Override(self.add_user(email), start, end, rotation)
        with self.lock:
            self.schedule(schedule).overrides.append(override)
        return override

    def on_call_at(self, schedule: str, at: datetime) -> list[str]:
        """The sandbox's own truth: the emails of everyone on call at ``at``, in rotation order."""
        with self.lock:
            state = self.schedule(schedule)
            people = on_call_at(state.rotations, state.overrides, state.tz, at.astimezone(UTC))
            return [self.users[p].email for p in people]

    def hide_schedule(self, schedule: str, hidden: bool = True) -> None:
        """The account may no longer see the schedule: still listed, but empty on-calls and timeline."""
        with self.lock:
            self.schedule(schedule).hidden = hidden

    def deny_schedule(self, schedule: str) -> None:
        """From now on the account gets 403 on the schedule."""
        with self.lock:
            self.schedule(schedule).denied = True

    # -- faults and inspection ------------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        path_contains: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
    ) -> None:
        """The next ``times`` matching requests answer ``status`` (429: with ``Retry-After: 1``)."""
        self.faults.fail(status, times=times, path_contains=path_contains, headers=headers, body=body)

    def hang(self, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` requests sleep ``seconds`` before answering."""
        self.faults.hang(seconds, times=times)

    def requests(self, path_contains: str | None = None, *, host: str | None = None) -> list[JsmRequest]:
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

    def close_alert(self, alias: str, *, by: str = "someone@corp.example") -> None:
        """Someone closes the open alert with ``alias`` in JSM's web app (outside Slack)."""
        with self.lock:
            for alert in self.alerts_api.alerts:
                if alert["alias"] == alias and alert["status"] == "open":
                    alert["status"] = "closed"
                    alert.setdefault("report", {})["closedBy"] = by

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts created through either API, oldest first (JSM's alert JSON plus ``via``)."""
        with self.lock:
            return [dict(alert) for alert in self.alerts_api.alerts]

    # -- request handling -----------------------------------------------------------------------------------

    def handle(self, role: str, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one HTTP request; called from the servers' threads."""
        at = time.monotonic()
        raw_path, _, raw_query = target.partition("?")
        path = unquote(raw_path)
        query = parse_qs(raw_query, keep_blank_values=True)
        segments = [unquote(part) for part in raw_path.split("/")[1:]]
        self.faults.delay()
        reply = self.faults.injected(role, path)
        if reply is None:
            reply = self._route(role, method, segments, query, headers, body)
        with self.lock:
            authorization = headers.get("authorization", "")
            self._requests.append(
                JsmRequest(role, method, path, query, authorization, _json(body), at, reply.status)
            )
        return reply

    def _route(
        self,
        role: str,
        method: str,
        segments: list[str],
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        if role == "site":
            return site_route(self, method, segments, query, self._basic_ok(headers))
        match segments:
            case ["jsm", "ops", "api", cloud_id, "v1", *rest]:
                if not self._basic_ok(headers):
                    reply = gateway_error(401, "Unauthorized; scope does not match")
                elif cloud_id != self.cloud_id:
                    reply = gateway_error(404, f"No site with cloud id {cloud_id}")
                else:
                    reply = self._ops.route(method, rest, query, body)
            case ["jsm", "ops", "integration", "v2", "alerts", *rest]:
                scheme, _, key = headers.get("authorization", "").partition(" ")
                if scheme != "GenieKey" or key.strip() != self.integration_key:
                    reply = genie_error(401, "Could not authenticate")
                else:
                    reply = self.alerts_api.integration(method, rest, query, body)
            case _:
                reply = gateway_error(404, f"No route for {method} /{'/'.join(segments)}")
        return reply

    def _basic_ok(self, headers: Mapping[str, str]) -> bool:
        """True when the request carries this sandbox's account email and API token as HTTP Basic."""
        expected = base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        return headers.get("authorization", "") == f"Basic {expected}"


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
