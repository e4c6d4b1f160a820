"""Local Slack: a stateful Web API over real HTTP plus a Socket Mode server, both on loopback."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from app.sandbox.slack_methods import METHODS, MethodSpec
from app.sandbox.slack_state import DEFAULT_SCOPES, ApiError, Params, SlackWorkspace
from app.sandbox.socket_mode import SocketModeServer

__all__ = ["DEFAULT_SCOPES", "RecordedRequest", "SlackSandbox"]

Answer = tuple[int, dict[str, Any], dict[str, str]]

# What a load balancer in front of an ailing Slack sends with a 5xx: HTML, not the Web API's JSON.
_OUTAGE_PAGE = "<html><body><h1>{status} Service Unavailable</h1></body></html>"


@dataclass(frozen=True)
class RecordedRequest:
    """One Web API call as the sandbox saw and answered it."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    wall: float
    status: int
    ok: bool
    error: str | None


@dataclass
class _Fault:
    error: str  # "ratelimited" means HTTP 429; LOST: done, but the answer never reaches the client
    retry_after: int
    times: int
    stall: float = 0.0
    act: bool = True


LOST = "answer_lost"
NO_ANSWER = 0  # the status handle_api returns for a call whose answer is lost


class SlackSandbox(SlackWorkspace):
    """The local Slack every test and the demo talk to: Web API + Socket Mode on 127.0.0.1."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-sandbox",  # noqa: S107 - a sandbox credential, accepted only here
        app_token: str = "xapp-sandbox",  # noqa: S107
        scopes: Iterable[str] = DEFAULT_SCOPES,
        team_id: str = "T0SANDBOX",
        team: str = "Sandbox",
        bot_user_id: str = "UBOT",
        app_id: str = "ASANDBOX",
        bot_name: str = "oncall-bot",
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(
            bot_token=bot_token,
            app_token=app_token,
            scopes=scopes,
            team_id=team_id,
            team=team,
            bot_user_id=bot_user_id,
            app_id=app_id,
            bot_name=bot_name,
        )
        self.host = host
        self.latency = 0.0
        # An HTTP status (e.g. 503) every Web API call answers with an HTML page: an outage at Slack's edge.
        self.outage_status: int | None = None
        self.socket = SocketModeServer(
            app_id=app_id, team_id=team_id, team_domain=self.domain, bot_user_id=bot_user_id, host=host
        )
        self.socket.on_event = self._see_event
        self._methods: dict[str, MethodSpec] = {
            **METHODS,
            "apps.connections.open": MethodSpec(self._connections_open, token="app"),
        }
        self._log_lock = threading.Lock()  # separate from the state lock: latency sleeps hold neither
        self._requests: list[RecordedRequest] = []
        self._responses: list[dict[str, Any]] = []
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._hollow: dict[str, int] = {}
        self._gates: dict[str, threading.Barrier] = {}
        self._http: ThreadingHTTPServer | None = None
        self._stopped = False

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the Web API and Socket Mode servers on free ports; serve in daemon threads."""
        if self._http is not None:
            return self
        server = _HttpServer((self.host, 0), _Handler)
        server.sandbox = self
        self._http = server
        # A short poll interval keeps stop() fast (shutdown() waits for the next poll).
        serve = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-slack-web", daemon=True
        )
        serve.start()
        self.socket.response_url_base = f"{self.base_url}commands"
        self.socket.start()
        return self

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT/ of the Web API server."""
        if self._http is None:
            raise RuntimeError("SlackSandbox is not started")
        return f"http://{self.host}:{self._http.server_address[1]}/"

    @property
    def api_url(self) -> str:
        """The base_url for slack_sdk's WebClient: http://127.0.0.1:PORT/api/ (with the slash)."""
        return f"{self.base_url}api/"

    def stop(self) -> None:
        """Shut both servers down and close websockets; idempotent."""
        if self._http is None or self._stopped:
            return
        self._stopped = True
        self.socket.stop()
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- records and fault injection -------------------------------------------------------------

    def requests(self, method: str | None = None) -> list[RecordedRequest]:
        """Every Web API call in arrival order, optionally only one method's."""
        with self._log_lock:
            calls = sorted(self._requests, key=lambda r: r.at)
        return [r for r in calls if method is None or r.method == method]

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self._log_lock:
            self._requests.clear()

    def responses(self) -> list[dict[str, Any]]:
        """Bodies POSTed to slash-command response_urls (Bolt's respond()): {"url", "payload"}."""
        with self._log_lock:
            return [dict(r) for r in self._responses]

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429, Retry-After and error ratelimited."""
        with self._log_lock:
            self._faults[method].append(_Fault("ratelimited", retry_after, times))

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 200 {"ok": false, "error": error}."""
        with self._log_lock:
            self._faults[method].append(_Fault(error, 0, times))

    def answer_together(self, method: str, calls: int, *, timeout: float = 5.0) -> None:
        """Hold the next ``calls`` answers of ``method`` until all of them arrived, then answer them at once.

        Real Slack's latency varies by tens of milliseconds: this makes concurrent callers' answers land in
        the same instant, so that races between the bot's workers show up every time, not once a week.
        """
        gate = threading.Barrier(calls, action=lambda: self._drop_gate(method), timeout=timeout)
        with self._log_lock:
            self._gates[method] = gate

    def held(self, method: str) -> int:
        """How many calls of ``method`` ``answer_together`` is holding right now (arrived, not answered)."""
        with self._log_lock:
            gate = self._gates.get(method)
        return gate.n_waiting if gate is not None else 0

    def _drop_gate(self, method: str) -> None:
        with self._log_lock:
            self._gates.pop(method, None)

    def hollow(self, method: str, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with a bare {"ok": true}, lacking its data."""
        with self._log_lock:
            self._hollow[method] = self._hollow.get(method, 0) + times

    def _take_hollow(self, method: str) -> bool:
        with self._log_lock:
            left = self._hollow.get(method, 0)
            if left <= 0:
                return False
            self._hollow[method] = left - 1
            return True

    def _wait_gate(self, method: str) -> None:
        with self._log_lock:
            gate = self._gates.get(method)
        if gate is None:
            return
        try:
            gate.wait()
        except threading.BrokenBarrierError:  # fewer callers than announced: answer anyway
            self._drop_gate(method)

    def lose_answer(self, method: str, *, stall: float = 0.0, times: int = 1, act: bool = True) -> None:
        """Do the next `times` calls of `method` (a post is stored) but never answer them.

        The connection is held for `stall` seconds (longer than the client's timeout: it times out), then
        closed without a response (with no stall: the client sees the connection drop). The caller cannot
        tell whether Slack acted: the "outcome unknown" of a real timeout after sending. With ``act`` False
        the call is not done either (the request never got through: a crash while it was on its way).
        """
        with self._log_lock:
            self._faults[method].append(_Fault(LOST, 0, times, stall, act))

    def _take_fault(self, method: str) -> _Fault | None:
        with self._log_lock:
            queue = self._faults.get(method)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.popleft()
            return fault

    # ---- dispatch -------------------------------------------------------------------------------

    def handle_api(self, method: str, params: dict[str, Any], token: str | None) -> Answer:
        """Answer one Web API call and record it."""
        at, wall = time.monotonic(), time.time()
        if self.latency > 0:
            time.sleep(self.latency)
        status, body, headers = self._answer(method, params, token)
        self._wait_gate(method)
        ok, error = bool(body.get("ok")), body.get("error")
        record = RecordedRequest(method, params, token, at, wall, status, ok, error)
        with self._log_lock:
            self._requests.append(record)
        return status, body, headers

    def _answer(self, method: str, params: Params, token: str | None) -> Answer:
        if self.outage_status is not None:
            return self.outage_status, {"html": _OUTAGE_PAGE.format(status=self.outage_status)}, {}
        spec = self._methods.get(method)
        if spec is None:
            return 404, {"ok": False, "error": "unknown_method"}, {}
        headers: dict[str, str] = {}
        try:
            kind = self._token_kind(token)
            headers = self._scope_headers(kind, spec)
            if spec.token not in ("any", kind):
                raise ApiError("not_allowed_token_type")
            fault = self._take_fault(method)
            if fault is not None:
                return self._faulty(fault, spec, params, headers)
            if kind == "bot" and spec.scope and spec.scope not in self.scopes:
                raise ApiError("missing_scope", needed=spec.scope, provided=",".join(self.scopes))
            if self._take_hollow(method):
                return 200, {"ok": True}, headers
            with self._lock:
                return 200, {"ok": True, **spec.handler(self, params)}, headers
        except ApiError as exc:
            return 200, {"ok": False, "error": exc.error, **exc.extra}, headers

    def _faulty(self, fault: _Fault, spec: MethodSpec, params: Params, headers: dict[str, str]) -> Answer:
        """The answer to a call an injected fault takes: lost (done or not), 429, or an error answer."""
        if fault.error == LOST:
            if fault.act:
                with self._lock:
                    spec.handler(self, params)
            return NO_ANSWER, {"ok": True, "stall": fault.stall}, headers
        if fault.error == "ratelimited":
            headers["Retry-After"] = str(fault.retry_after)
            return 429, {"ok": False, "error": "ratelimited"}, headers
        raise ApiError(fault.error)

    def _token_kind(self, token: str | None) -> str:
        if not token:
            raise ApiError("not_authed")
        if token == self.bot_token:
            return "bot"
        if token == self.app_token:
            return "app"
        raise ApiError("invalid_auth")

    def _scope_headers(self, kind: str, spec: MethodSpec) -> dict[str, str]:
        granted = ",".join(self.scopes) if kind == "bot" else "connections:write"
        return {"x-oauth-scopes": granted, "x-accepted-oauth-scopes": spec.scope or ""}

    def _connections_open(self, _: SlackWorkspace, __: Params) -> dict[str, Any]:
        return {"url": self.socket.issue_url()}

    def _see_event(self, event: dict[str, Any]) -> None:
        # A pushed app_mention is a real user message: chat.getPermalink must know it.
        if isinstance(event.get("channel"), str) and isinstance(event.get("ts"), str):
            self.see_message(event["channel"], event["ts"], event.get("thread_ts"))

    def record_response(self, url: str, payload: Any) -> None:
        """Record a POST to a response_url."""
        with self._log_lock:
            self._responses.append({"url": url, "payload": payload})


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: SlackSandbox


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"  # keep-alive, as urllib3/httpx clients expect

    def do_GET(self) -> None:
        self._dispatch(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._dispatch(self.rfile.read(length) if length else b"")

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def _dispatch(self, body: bytes) -> None:
        url = urlsplit(self.path)
        params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            params.update(_parse_body(self.headers.get("Content-Type", ""), body))
        except ValueError:
            self._send(400, {"ok": False, "error": "invalid_json"}, {})
            return
        if url.path.startswith("/api/"):
            method = url.path.removeprefix("/api/").strip("/")
            status, answer, headers = self.server.sandbox.handle_api(method, params, self._token(params))
            if status == NO_ANSWER:
                self._hang_up(float(answer["stall"]))
            else:
                self._send(status, answer, headers)
        elif url.path.startswith("/commands/") and self.command == "POST":
            self.server.sandbox.record_response(self.path, params)
            self._send(200, {"ok": True}, {})
        else:
            self._send(404, {"ok": False, "error": "unknown_method"}, {})

    def _token(self, params: dict[str, Any]) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        token = params.get("token")
        return str(token) if token else None

    def _hang_up(self, stall: float) -> None:
        """Close the connection without an answer, after holding it for ``stall`` seconds."""
        time.sleep(stall)
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client gave up first
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        html = body.get("html") if status >= 500 else None
        data = html.encode() if isinstance(html, str) else json.dumps(body).encode()
        self.send_response(status)
        kind = "text/html" if isinstance(html, str) else "application/json"
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Params from a JSON, form-urlencoded or multipart body (slack_sdk uses all three)."""
    if not body:
        return {}
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if kind == "application/json":
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        return data
    if kind == "multipart/form-data":
        head = b"Content-Type: " + content_type.encode() + b"\r\n\r\n"
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        return {
            str(part.get_param("name", header="content-disposition")): part.get_content()
            for part in message.iter_parts()
        }
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
