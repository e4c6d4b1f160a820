"""Socket Mode server of the sandbox: the websocket side of apps.connections.open, on loopback."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from app.sandbox.block_kit import MAX_TEXT, block_errors
from app.sandbox.slack_interactive import block_actions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ack:
    """An acknowledgement the app sent back for one envelope.

    ``error`` is what Slack would have refused the response payload with (``invalid_blocks``,
    ``msg_too_long``): the user then sees Slack's error instead of the answer. None when accepted.
    """

    envelope_id: str
    payload: dict[str, Any] | None
    latency: float
    connection: int
    error: str | None = None
    messages: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """True when Slack would show the payload (or there was none to show)."""
        return self.error is None


@dataclass
class _Conn:
    id: int
    ws: ServerConnection
    ready: bool = False  # hello sent: envelopes may follow
    draining: bool = False  # told to disconnect: real Slack sends it nothing new


class SocketModeServer:
    """Slack's Socket Mode endpoint: hello, envelopes, acks, disconnects, several connections."""

    def __init__(
        self,
        *,
        app_id: str = "ASANDBOX",
        team_id: str = "T0SANDBOX",
        team_domain: str = "sandbox",
        bot_user_id: str = "UBOT",
        host: str = "127.0.0.1",
        verification_token: str = "sandbox-verification-token",  # noqa: S107 - not a secret
        response_url_base: str = "https://hooks.slack.com/commands",
        ping_interval: float | None = 0.5,
    ) -> None:
        self.app_id, self.team_id, self.team_domain = app_id, team_id, team_domain
        self.bot_user_id, self.host, self.verification_token = bot_user_id, host, verification_token
        self.response_url_base = response_url_base
        # Frequent server pings wake slack_sdk's builtin client, whose close() otherwise waits for a
        # 3 s recv timeout while holding its receive lock.
        self.ping_interval = ping_interval
        # Called with each pushed event before delivery (the Web API side remembers user messages).
        self.on_event: Callable[[dict[str, Any]], None] | None = None
        self._cond = threading.Condition()  # guards every field below
        self._tickets: set[str] = set()
        self._conns: dict[int, _Conn] = {}
        self._next_conn_id = 0
        self._round_robin = 0
        self._backlog: deque[dict[str, Any]] = deque()
        self._envelopes: dict[str, dict[str, Any]] = {}
        self._sent_at: dict[str, float] = {}
        self._acks: list[Ack] = []
        self._close_codes: list[int | None] = []  # of every connection gone, in the order they went
        self._listener: socket.socket | None = None
        self._server: Server | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._refusals: deque[HTTPStatus] = deque()  # the next handshakes' answers instead of a 101

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Bind a free port on the host and accept connections in a daemon thread."""
        listener = socket.create_server((self.host, 0))
        listener.settimeout(0.1)  # lets the accept loop notice stop() promptly
        self._listener = listener
        self._server = serve(
            self._handle,
            sock=listener,
            process_request=self._check_ticket,
            compression=None,
            close_timeout=1,
            ping_interval=self.ping_interval,
            logger=logger,
        )
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="sandbox-socket-mode", daemon=True
        )
        self._accept_thread.start()

    @property
    def port(self) -> int:
        """The bound port."""
        if self._listener is None:
            raise RuntimeError("SocketModeServer is not started")
        return int(self._listener.getsockname()[1])

    def stop(self) -> None:
        """Stop accepting, close every connection; idempotent."""
        if self._stopping.is_set() or self._listener is None:
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            # Wakes a blocked accept() at once on Linux; elsewhere the 0.1 s accept timeout does.
            self._listener.shutdown(socket.SHUT_RDWR)
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=2)
        self._listener.close()
        with self._cond:
            conns = list(self._conns.values())
            self._tickets.clear()
        # In parallel: each close() may wait close_timeout for a client that never answers.
        closers = [threading.Thread(target=conn.ws.close, daemon=True) for conn in conns]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join(timeout=2)

    def _accept_loop(self) -> None:
        # Our own loop instead of Server.serve_forever(): that one runs connection handlers in
        # non-daemon threads, so a forgotten stop() would hang interpreter exit.
        listener, server = self._listener, self._server
        assert listener is not None
        assert server is not None
        while not self._stopping.is_set():
            try:
                sock, addr = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(
                target=server.handler, args=(sock, addr), daemon=True, name="sandbox-socket-mode-conn"
            ).start()

    # ---- connections ----------------------------------------------------------------------------

    def issue_url(self) -> str:
        """A fresh ws:// URL with a ticket, as apps.connections.open hands out."""
        ticket = secrets.token_hex(16)
        with self._cond:
            self._tickets.add(ticket)
        return f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    def refuse_handshakes(
        self, status: HTTPStatus = HTTPStatus.SERVICE_UNAVAILABLE, *, times: int = 1
    ) -> None:
        """Answer the next ``times`` websocket handshakes with ``status`` instead of upgrading them.

        What Slack's edge does in an incident (503), or to a ticket it no longer takes: the URL from
        apps.connections.open was handed out, but the websocket does not open.
        """
        with self._cond:
            self._refusals.extend([status] * times)

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        with self._cond:
            refusal = self._refusals.popleft() if self._refusals else None
            valid = ticket in self._tickets and not self._stopping.is_set()
        if refusal is not None:
            return connection.respond(refusal, f"{refusal.phrase}\n")
        if valid:
            return None
        return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or missing ticket\n")

    def _handle(self, ws: ServerConnection) -> None:
        with self._cond:
            conn = _Conn(self._next_conn_id, ws)
            self._next_conn_id += 1
            self._conns[conn.id] = conn
            count = 1 + sum(1 for c in self._conns.values() if c.ready and not c.draining)
        try:
            ws.send(json.dumps(self._hello(count)))
            with self._cond:
                conn.ready = True
                backlog = list(self._backlog)
                self._backlog.clear()
                self._cond.notify_all()
            for envelope in backlog:
                self._route(envelope, None)
            for raw in ws:
                self._on_client_message(conn.id, raw)
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                self._conns.pop(conn.id, None)
                self._close_codes.append(ws.close_code)  # 1006: the app went without a close frame
                self._cond.notify_all()

    def _hello(self, num_connections: int) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": num_connections,
            "connection_info": {"app_id": self.app_id},
            "debug_info": {"host": "sandbox", "approximate_connection_time": 3600},
        }

    def connection_ids(self) -> list[int]:
        """Ids of the open connections that receive envelopes, oldest first."""
        with self._cond:
            return sorted(c.id for c in self._conns.values() if c.ready and not c.draining)

    @property
    def connection_count(self) -> int:
        """How many connections are open and not told to disconnect."""
        return len(self.connection_ids())

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until at least `count` connections are open; TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._ready_count() >= count, timeout):
                have = self._ready_count()
                raise TimeoutError(f"{have} of {count} socket mode connections after {timeout}s")

    def wait_all_closed(self, timeout: float = 10.0) -> list[int | None]:
        """Block until no connection is open, not even a draining one; every gone one's close code."""
        with self._cond:
            if not self._cond.wait_for(lambda: not self._conns, timeout):
                raise TimeoutError(f"{len(self._conns)} socket mode connections still open after {timeout}s")
            return list(self._close_codes)

    def _ready_count(self) -> int:
        return sum(1 for c in self._conns.values() if c.ready and not c.draining)

    def disconnect(
        self,
        reason: str = "refresh_requested",
        *,
        close_after: float | None = 0.2,
        connection: int | None = None,
    ) -> None:
        """Send {"type": "disconnect"} (to one connection, or to all when None), then close after a delay."""
        with self._cond:
            targets = (
                [self._conn(connection)]
                if connection is not None
                else [c for c in self._conns.values() if c.ready and not c.draining]
            )
            for conn in targets:
                conn.draining = True
            self._cond.notify_all()
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "sandbox"}})
        for conn in targets:
            try:
                conn.ws.send(message)
            except ConnectionClosed:
                continue
            if close_after is not None:
                timer = threading.Timer(close_after, conn.ws.close)
                timer.daemon = True
                timer.start()

    def _conn(self, connection: int) -> _Conn:
        conn = self._conns.get(connection)
        if conn is None or not conn.ready:
            raise LookupError(f"no open socket mode connection {connection}")
        return conn

    # ---- envelopes ------------------------------------------------------------------------------

    def push_command(
        self,
        text: str = "",
        *,
        command: str = "/oncall",
        user_id: str = "U0SANDBOX",
        channel_id: str = "C0SANDBOX",
        user_name: str = "sandbox-user",
        channel_name: str = "general",
        connection: int | None = None,
    ) -> str:
        """Deliver a slash command envelope; returns its envelope_id."""
        payload = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": f"{self.response_url_base}/{self.team_id}/{secrets.randbelow(10**12)}/"
            f"{secrets.token_hex(12)}",
            "trigger_id": f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}",
        }
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": "slash_commands",
            "payload": payload,
            "accepts_response_payload": True,
        }
        return self._route(envelope, connection)

    def push_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        connection: int | None = None,
    ) -> str:
        """Deliver an events_api envelope around `event`; returns its envelope_id."""
        event = copy.deepcopy(event)
        event.setdefault("event_ts", f"{time.time():.6f}")
        if self.on_event is not None:
            self.on_event(event)
        payload = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": "events_api",
            "payload": payload,
            "accepts_response_payload": False,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        return self._route(envelope, connection)

    def push_block_action(
        self,
        message: dict[str, Any],
        action_id: str,
        *,
        user: str,
        user_name: str = "sandbox-user",
        chosen: dict[str, str] | None = None,
        connection: int | None = None,
    ) -> str:
        """Press ``action_id`` in a posted ``message`` as ``user``: an ``interactive`` envelope; its id."""
        payload = block_actions(
            message, action_id, user=user, user_name=user_name, team_id=self.team_id, app_id=self.app_id,
            response_url_base=self.response_url_base, chosen=chosen,
        )  # fmt: skip
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": "interactive",
            "payload": payload,
            "accepts_response_payload": False,  # Slack never retries an interactive payload
        }
        return self._route(envelope, connection)

    def redeliver(
        self, envelope_id: str, *, connection: int | None = None, retry_reason: str = "timeout"
    ) -> str:
        """Send an earlier envelope again: same payload and event_id, new envelope_id, retry_attempt + 1."""
        with self._cond:
            original = self._envelopes[envelope_id]
        envelope = copy.deepcopy(original)
        envelope.update(
            envelope_id=str(uuid.uuid4()),
            retry_attempt=original.get("retry_attempt", 0) + 1,
            retry_reason=retry_reason,
        )
        return self._route(envelope, connection)

    def _route(self, envelope: dict[str, Any], connection: int | None) -> str:
        """Send to the chosen connection, or keep it until one connects (Slack queues, it does not drop)."""
        envelope_id: str = envelope["envelope_id"]
        with self._cond:
            self._envelopes[envelope_id] = envelope
            conn = self._conn(connection) if connection is not None else self._next_round_robin()
            if conn is None:
                self._backlog.append(envelope)
                return envelope_id
            self._sent_at[envelope_id] = time.monotonic()
        try:
            conn.ws.send(json.dumps(envelope))
        except ConnectionClosed:
            with self._cond:
                self._backlog.append(envelope)
        return envelope_id

    def _next_round_robin(self) -> _Conn | None:
        ready = sorted((c for c in self._conns.values() if c.ready and not c.draining), key=lambda c: c.id)
        if not ready:
            return None
        self._round_robin += 1
        return ready[(self._round_robin - 1) % len(ready)]

    # ---- acks -----------------------------------------------------------------------------------

    def _on_client_message(self, connection: int, raw: str | bytes) -> None:
        received = time.monotonic()
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            logger.warning("socket mode sandbox: ignoring a non-JSON message %r", raw[:200])
            return
        if not isinstance(message, dict) or "envelope_id" not in message:
            logger.warning("socket mode sandbox: ignoring a message without envelope_id %r", message)
            return
        envelope_id = str(message["envelope_id"])
        payload = message.get("payload")
        error, messages = _refusal(payload)
        with self._cond:
            sent = self._sent_at.get(envelope_id, received)
            ack = Ack(envelope_id, payload, received - sent, connection, error, messages)
            self._acks.append(ack)
            self._cond.notify_all()
        if error is not None:
            logger.warning("socket mode sandbox: ack %s refused (%s): %s", envelope_id, error, messages)

    def acks(self) -> list[Ack]:
        """Every ack received, in arrival order."""
        with self._cond:
            return list(self._acks)

    def wait_for_ack(self, envelope_id: str, timeout: float = 3.0) -> Ack:
        """The first ack for an envelope, waiting up to `timeout` seconds; TimeoutError otherwise."""

        def find() -> Ack | None:
            return next((a for a in self._acks if a.envelope_id == envelope_id), None)

        with self._cond:
            ack = self._cond.wait_for(find, timeout)
        if ack is None:
            raise TimeoutError(f"no ack for envelope {envelope_id} within {timeout}s")
        return ack


def _refusal(payload: Any) -> tuple[str | None, tuple[str, ...]]:
    """What Slack would refuse a response payload with: (error, messages), or (None, ())."""
    if not isinstance(payload, dict):
        return None, ()
    if len(str(payload.get("text") or "")) > MAX_TEXT:
        return "msg_too_long", ()
    refused = block_errors(payload.get("blocks"))
    return ("invalid_blocks", tuple(refused)) if refused else (None, ())
