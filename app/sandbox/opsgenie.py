"""A stateful local Opsgenie (REST v2) on 127.0.0.1: schedules, on-calls, timelines, alerts and faults."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote
from zoneinfo import ZoneInfo

from app.sandbox.opsgenie_api import Api, Reply, error
from app.sandbox.opsgenie_schedule import Override, Rotation, on_call_at

__all__ = ["OgRequest", "OpsgenieSandbox", "Override", "Rotation"]

_STATUS_MESSAGES = {
    429: "You are making too many requests! To avoid errors, we recommend you limit requests.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class OgRequest:
    """One request received: ``path`` percent-decoded, ``query`` with the last value of each key."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float
    status: int


@dataclass
class ScheduleState:
    """One schedule as the sandbox keeps it."""

    id: str
    name: str
    timezone: str
    enabled: bool
    rotations: list[Rotation] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    denied: bool = False

    @property
    def tz(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)


@dataclass
class _Failure:
    """An injected failure waiting for matching requests."""

    status: int
    remaining: int
    path_contains: str | None
    headers: dict[str, str]
    body: bytes | None


class OpsgenieSandbox:
    """A local Opsgenie speaking the v2 wire format over real HTTP; every knob is thread-safe."""

    def __init__(
        self, api_key: str = "sandbox-genie-key", clock: Callable[[], datetime] | None = None
    ) -> None:
        self.api_key = api_key
        self.clock = clock
        self.latency = 0.0
        self.down = False
        # A team-owned integration key: no account-level endpoints (403), its own team's schedules only.
        self.team_scoped_key = False
        self.alert_processing_polls = 1
        self.lock = threading.RLock()
        self.schedules: dict[str, ScheduleState] = {}
        self._failures: list[_Failure] = []
        self._hangs: list[tuple[float, str | None]] = []  # (seconds, only this path)
        self._hanging: list[str] = []  # paths of requests held by hang() right now
        self._requests: list[OgRequest] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._api = Api(self)

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> OpsgenieSandbox:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sandbox = self
        # A short poll interval keeps stop() fast: shutdown() waits for the loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="og-sandbox", daemon=True
        )
        self._thread.start()
        return self

    @property
    def connections_accepted(self) -> int:
        """How many TCP connections clients opened since ``start`` (each request on its own: one each)."""
        return self._server.accepted if self._server is not None else 0

    def cut_connections(self) -> None:
        """Close every open connection from the server's side, as a pager's idle timeout does."""
        if self._server is not None:
            self._server.close_connections()

    def stop(self) -> None:
        """Stop serving; requests still hanging are woken up so nothing outlives the test."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("the Opsgenie sandbox is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OpsgenieSandbox:
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

    # -- schedules -----------------------------------------------------------------------------------------

    def add_schedule(
        self,
        name: str,
        *,
        schedule_id: str | None = None,
        timezone: str = "Europe/Amsterdam",
        enabled: bool = True,
        rotations: Iterable[Rotation] = (),
    ) -> str:
        """Create a schedule and return its id."""
        ZoneInfo(timezone)  # fail here, not inside a request, on a bad zone name
        state = ScheduleState(schedule_id or str(uuid.uuid4()), name, timezone, enabled, list(rotations))
        with self.lock:
            if any(s.name == name or s.id == state.id for s in self.schedules.values()):
                raise ValueError(f"schedule {name!r} (or its id) already exists")
            self.schedules[state.id] = state
        return state.id

    def schedule(self, schedule: str) -> ScheduleState:
        """A schedule by id or name (for the sandbox's own API, never the wire)."""
        with self.lock:
            for state in self.schedules.values():
                if schedule in (state.id, state.name):
                    return state
        raise KeyError(f"no sandbox schedule {schedule!r}")

    def set_rotations(self, schedule: str, rotations: Iterable[Rotation]) -> None:
        """Replace a schedule's rotations (a roster change); overrides stay."""
        with self.lock:
            self.schedule(schedule).rotations = list(rotations)

    def add_override(
        self, schedule: str, user: str, start: datetime, end: datetime, *, rotation: str | None = None
    ) -> Override:
        """During ``[start, end)`` ``user`` replaces ``rotation``'s participant (every rotation when None)."""
        override = Override(user, start, end, rotation)
        with self.lock:
            state = self.schedule(schedule)
            if rotation is not None and rotation not in {r.name for r in state.rotations}:
                raise ValueError(f"schedule {state.name!r} has no rotation {rotation!r}")
            state.overrides.append(override)
        return override

    def on_call_at(self, schedule: str, at: datetime) -> list[str]:
        """The sandbox's own truth: who is on call at ``at``, in rotation order."""
        with self.lock:
            state = self.schedule(schedule)
            return on_call_at(state.rotations, state.overrides, state.tz, at.astimezone(UTC))

    def deny_schedule(self, schedule: str) -> None:
        """From now on this key may not read the schedule (403, like a team-owned key)."""
        with self.lock:
            self.schedule(schedule).denied = True

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
        """The next ``times`` matching requests answer ``status``; ``headers``/``body`` override defaults."""
        defaults = {}
        if status == 429:
            defaults = {
                "X-RateLimit-State": "THROTTLED",
                "X-RateLimit-Reason": "ScheduleOnCalls",
                "X-RateLimit-Period-In-Sec": "1",
            }
        raw = body.encode() if isinstance(body, str) else body
        with self.lock:
            merged = {**defaults, **(headers or {})}
            self._failures.append(_Failure(status, times, path_contains, merged, raw))

    def hang(self, seconds: float, *, times: int = 1, path: str | None = None) -> None:
        """The next ``times`` requests (to ``path`` only, when given) sleep ``seconds`` before answering."""
        with self.lock:
            self._hangs.extend([(seconds, path)] * times)

    def hanging(self) -> list[str]:
        """The paths of the requests being held by ``hang`` now (arrived, not answered yet)."""
        with self.lock:
            return list(self._hanging)

    # -- inspection ------------------------------------------------------------------------------------------

    def close_alert(self, alias: str, *, by: str = "someone@corp.example") -> None:
        """Someone closes the open alert with ``alias`` in Opsgenie's web app (outside Slack)."""
        with self.lock:
            for alert in self._api.alerts:
                if alert["alias"] == alias and alert["status"] == "open":
                    alert["status"] = "closed"
                    alert.setdefault("report", {})["closedBy"] = by

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts created, oldest first: the JSON body received plus id, alias, status, createdAt, tinyId."""
        with self.lock:
            return [dict(alert) for alert in self._api.alerts]

    def requests(self, path_contains: str | None = None) -> list[OgRequest]:
        """Every request received (answered), oldest first, optionally filtered on the decoded path."""
        with self.lock:
            return [r for r in self._requests if path_contains is None or path_contains in r.path]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self.lock:
            self._requests.clear()

    # -- request handling ------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, authorization: str | None, body: bytes) -> Reply:
        """Answer one HTTP request; called from the server's threads."""
        at = time.monotonic()
        raw_path, _, raw_query = target.partition("?")
        path = unquote(raw_path)
        query = {key: values[-1] for key, values in parse_qs(raw_query, keep_blank_values=True).items()}
        self._delay(path)
        reply = self._fault(path) or self._authenticate(authorization)
        if reply is None:
            segments = [unquote(part) for part in raw_path.split("/")[1:]]
            reply = self._api.route(method, segments, query, body)
        with self.lock:
            self._requests.append(OgRequest(method, path, query, _parse_json(body), at, reply.status))
        return reply

    def _delay(self, path: str) -> None:
        with self.lock:
            found = next((i for i, (_, only) in enumerate(self._hangs) if only in (None, path)), None)
            hang = self._hangs.pop(found)[0] if found is not None else 0.0
            if hang:
                self._hanging.append(path)
        # Waiting on the event (not time.sleep) lets stop() release hanging requests at once.
        self._stopping.wait(self.latency + hang)
        if hang:
            with self.lock:
                self._hanging.remove(path)

    def _fault(self, path: str) -> Reply | None:
        if self.down:
            return error(503, _STATUS_MESSAGES[503])
        with self.lock:
            for failure in self._failures:
                if failure.path_contains is None or failure.path_contains in path:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    break
            else:
                return None
        if failure.body is not None:
            return Reply(failure.status, failure.body, failure.headers)
        message = _STATUS_MESSAGES.get(failure.status, f"Injected failure {failure.status}")
        return error(failure.status, message, headers=failure.headers)

    def _authenticate(self, authorization: str | None) -> Reply | None:
        scheme, _, key = (authorization or "").partition(" ")
        if scheme != "GenieKey" or key.strip() != self.api_key:
            return error(401, "Could not authenticate")
        return None


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


class _Server(ThreadingHTTPServer):
    """Tracks open connections so stop() can cut keep-alive clients off, like a real outage."""

    daemon_threads = True
    sandbox: OpsgenieSandbox

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.accepted = 0  # connections accepted so far: keep-alive reuse shows as few

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
            self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open connection down; their handler threads then end on their own."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Moves bytes between the socket and ``OpsgenieSandbox.handle``."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY each answer waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.sandbox.handle(self.command, self.path, self.headers.get("Authorization"), body)
        payload = reply.payload()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            # The client gave up (a timeout test) or stop() cut the line: nothing to answer any more.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read ``OpsgenieSandbox.requests()`` instead."""
