"""Socket Mode over websockets' threaded client: event-driven reads, acks sent the moment Bolt returns.

Chosen over slack_sdk's built-in client by bench/ack.py. That client reads through a lock held across a
3-second blocking recv, so a reconnect after Slack's ``disconnect`` (warning, refresh_requested) waited up
to 3 s before reading the new connection, and Nagle held small acks back. Here each connection has a
reader thread blocked in ``recv`` that wakes when a frame arrives; envelopes go to a small pool that runs
Bolt and acks on the connection they came from. On ``disconnect`` a new connection is opened at once and
the old one is still read (its envelopes acked) until Slack closes it or ``OLD_GRACE`` has passed.

The connection may open before the Bolt app exists (``run`` connects first and builds the rest while the
socket is open): envelopes that arrive before ``attach()`` wait in their worker and are handled the moment
the app is attached; ``close()`` before that lets them go unacked (Slack redelivers events) rather than
answer wrongly. Bolt is imported by whoever builds the app, not by this module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from slack_sdk.socket_mode.request import SocketModeRequest
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from app.log_json import log_context
from app.redaction import redact_value
from app.slack.errors import SlackCallFailed
from app.slack.redacted_bodies import RedactedBodies

if TYPE_CHECKING:
    from slack_bolt import App, BoltResponse

    from app.slack.after_ack import Work
    from app.slack.gateway import SlackGateway

    Dispatch = Callable[[SocketModeRequest], tuple[BoltResponse, list[Work]]]

log = logging.getLogger(__name__)

HELLO_WITHIN = 10.0  # seconds for a new connection to say hello before it is given up
OLD_GRACE = 10.0  # Slack closes a connection ~10 s after its warning; after that we close it ourselves
DRAIN_WITHIN = 2.0  # at close, how long envelopes being handled get to send their acks
MAX_BACKOFF = 30.0
MAX_FRAME = 4 * 1024 * 1024


def _label(req: SocketModeRequest) -> str:
    """The slash command ("/oncall"), or the event or interaction type, of an envelope."""
    payload = req.payload if isinstance(req.payload, dict) else {}
    if req.type == "slash_commands":
        return str(payload.get("command") or "command")
    if req.type == "events_api":
        return str((payload.get("event") or {}).get("type") or "event")
    return str(payload.get("type") or req.type)


class SocketModeConnection:
    """The Socket Mode link to Slack: ``connect()`` returns once Slack said hello; ``close()`` ends it."""

    def __init__(
        self,
        app: App | None,
        app_token: str,
        gateway: SlackGateway,
        *,
        on_ack: Callable[[str, float], None] | None = None,
        workers: int = 10,
    ) -> None:
        self.app: App | None = None
        self._dispatch: Dispatch | None = None
        self._attached = threading.Event()  # set by attach(), or by close() to release the waiting
        self._gateway, self._app_token = gateway, app_token
        self._on_ack = on_ack
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="socket-mode")
        self._lock = threading.Condition()
        self._current: ClientConnection | None = None
        self._closing = False
        self._in_flight = 0
        self._reconnecting = False
        self._stopped = threading.Event()  # set by close(): a reconnect's backoff ends at once
        self._redacted = RedactedBodies()
        if app is not None:
            self.attach(app)

    def attach(self, app: App) -> None:
        """Hand envelopes to ``app`` from now on: those waiting since the connection opened go first."""
        # Imported here, once: they load Bolt, which building ``app`` has loaded already.
        from slack_bolt.adapter.socket_mode.internals import build_headers  # noqa: PLC0415

        from app.slack.after_ack import dispatch  # noqa: PLC0415

        self.app = app
        self._dispatch = lambda req: dispatch(app, req.payload, build_headers(req))
        self._attached.set()

    # ---- state ----------------------------------------------------------------------------------

    def is_connected(self) -> bool:
        """True while a connection that said hello is open."""
        with self._lock:
            current = self._current
        return current is not None and current.close_code is None

    # ---- connecting -----------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the first connection; Slack's refusal (SlackCallFailed) or a network error propagates.

        A handshake Slack answers with something other than an upgrade (a 503 in an incident: websockets'
        InvalidStatus) is a network error too: ConnectionError, so that callers need not know websockets.
        """
        try:
            self._open()
        except WebSocketException as error:
            raise ConnectionError(str(error)) from error

    def _open(self) -> None:
        """Open a connection, read it in its own thread, and make it current once Slack says hello."""
        # apps.connections.open goes through the gateway like every Web API call (it waits out a 429).
        url = self._gateway.open_connection(self._app_token)
        ws = ws_connect(url, compression=None, max_size=MAX_FRAME, open_timeout=HELLO_WITHIN, close_timeout=1)
        with contextlib.suppress(OSError, AttributeError):  # a proxy or TLS socket without the option
            ws.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small acks, no Nagle wait
        hello = threading.Event()
        threading.Thread(target=self._read, args=(ws, hello), name="socket-mode-reader", daemon=True).start()
        if not hello.wait(HELLO_WITHIN):
            ws.close()
            raise TimeoutError(f"Slack's Socket Mode sent no hello within {HELLO_WITHIN:g} s")
        with self._lock:
            old, self._current = self._current, ws
            if self._closing:
                ws.close()
        if old is not None:
            self._retire(old)
        log.info("Socket Mode connected")

    def _retire(self, old: ClientConnection) -> None:
        """Keep reading (and acking on) a replaced connection until Slack closes it, then close it."""
        timer = threading.Timer(OLD_GRACE, old.close)
        timer.daemon = True
        timer.start()

    def _reconnect(self, why: str) -> None:
        """Open a new connection in the background (once at a time), backing off while Slack refuses."""
        with self._lock:
            if self._reconnecting or self._closing:
                return
            self._reconnecting = True
        threading.Thread(
            target=self._reconnect_loop, args=(why,), name="socket-mode-connect", daemon=True
        ).start()

    def _reconnect_loop(self, why: str) -> None:
        delay = 1.0
        try:
            while not self._stopped.is_set():
                try:
                    self._open()
                    log.info("Socket Mode reconnected (%s)", why)
                    return
                except (SlackCallFailed, OSError, WebSocketException) as error:
                    log.warning("Socket Mode: cannot reconnect (%s); retrying in %.0f s", error, delay)
                self._stopped.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF)
        finally:
            with self._lock:
                self._reconnecting = False

    # ---- reading --------------------------------------------------------------------------------

    def _read(self, ws: ClientConnection, hello: threading.Event) -> None:
        try:
            for raw in ws:
                if log.isEnabledFor(logging.DEBUG):  # the log handlers redact every secret in it
                    log.debug("Socket Mode received: %s", raw)
                message = json.loads(raw) if isinstance(raw, str) and raw.startswith("{") else {}
                kind = message.get("type")
                if kind == "hello":
                    hello.set()
                elif kind == "disconnect":
                    log.info("Socket Mode: Slack asks to reconnect (%s)", message.get("reason"))
                    self._reconnect(str(message.get("reason") or "disconnect"))
                elif message.get("envelope_id"):
                    self._submit(ws, message)
        except (ConnectionClosed, OSError):
            pass
        except json.JSONDecodeError as error:
            log.warning("Socket Mode: a frame that is not JSON: %s", error)
        finally:
            with self._lock:
                current = self._current is ws
            if current and not self._closing:
                self._reconnect("connection closed")

    def _submit(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        with self._lock:
            if self._closing:
                return  # not acked: Slack redelivers events to a running replica
            self._in_flight += 1
        try:
            self._pool.submit(self._handle, ws, message)
        except RuntimeError:  # the pool is shut down
            self._done()

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._lock.notify_all()

    def _handle(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            req = SocketModeRequest.from_dict(message)
            if req is None:
                return
            payload = req.payload if isinstance(req.payload, dict) else {}
            if not self._attached.is_set():  # the app is being built (run connects first): within ~1 s
                self._attached.wait()
            if self._dispatch is None:
                return  # closed before an app was attached: not acked, rather than answered wrongly
            with log_context(event_id=payload.get("event_id")):
                response, later = self._dispatch(req)
                self._ack(ws, req, response)
                if self._on_ack is not None:
                    self._on_ack(_label(req), time.perf_counter() - started)
                for work in later:  # what the listener left for after its ack
                    work()
        except Exception:
            log.exception("Socket Mode: handling envelope %s failed", message.get("envelope_id"))
        finally:
            self._done()

    def _ack(self, ws: ClientConnection, req: SocketModeRequest, response: Any) -> None:
        """Send the envelope's ack, with Bolt's answer (the /oncall payload) redacted, on its connection."""
        if response is None or response.status != 200:
            log.info(
                "Socket Mode: envelope %s not acked (Bolt status %s)",
                req.envelope_id,
                response and response.status,
            )
            return
        body = response.body or ""
        envelope = json.dumps(redact_value(req.envelope_id))
        if body:
            content_type = (response.headers.get("content-type") or [""])[0]
            payload = self._redacted.payload(body, is_json=content_type.startswith("application/json"))
            text = f'{{"envelope_id": {envelope}, "payload": {payload}}}'
        else:
            text = f'{{"envelope_id": {envelope}}}'
        try:
            ws.send(text)
        except ConnectionClosed:
            with self._lock:
                current = self._current
            if current is None or current is ws:
                raise
            current.send(text)  # the old connection is gone: Slack takes the ack on the new one

    # ---- closing --------------------------------------------------------------------------------

    def close(self) -> None:
        """Take no new envelopes, let those being handled ack (within DRAIN_WITHIN), then disconnect."""
        deadline = time.monotonic() + DRAIN_WITHIN
        self._stopped.set()
        with self._lock:
            self._closing = True
            self._attached.set()  # envelopes still waiting for an app leave unacked
            while self._in_flight and time.monotonic() < deadline:
                self._lock.wait(max(0.0, deadline - time.monotonic()))
            current, self._current = self._current, None
        if current is not None:
            current.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
