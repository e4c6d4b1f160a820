"""Socket Mode connection: low ack latency (TCP_NODELAY on every websocket), redacted acks, and
apps.connections.open through the Slack gateway like every other Web API call."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from app.log_json import log_context
from app.redaction import redact_value
from app.slack.gateway import SlackGateway

log = logging.getLogger(__name__)


class NoDelaySocketModeClient(SocketModeClient):
    """slack_sdk's built-in client, but acks are redacted and not held back by Nagle's algorithm.

    The built-in client sets TCP_NODELAY only behind a proxy; without it a small ack frame written right
    after another one waits for the server's delayed ACK (~40 ms), which bench/ack.py measured at p99.
    Every reconnect opens a new socket, so the option is set on each connect. The websocket URL of each
    (re)connect comes from the gateway, so its failures are mapped and explained once, there.
    """

    def __init__(self, app_token: str, gateway: SlackGateway, **options: Any) -> None:
        self.gateway = gateway  # before the built-in client's threads start
        super().__init__(app_token=app_token, web_client=gateway.bolt_client, **options)

    def issue_new_wss_url(self) -> str:
        """apps.connections.open with the app-level token, through the gateway (which waits out a 429)."""
        return self.gateway.open_connection(self.app_token)

    def connect(self) -> None:
        """Connect (or reconnect) as usual, then switch Nagle off on the new socket."""
        super().connect()
        sock = getattr(self.current_session, "sock", None)
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as error:  # a proxy tunnel or an exotic socket: latency only, never fatal
                log.debug("could not set TCP_NODELAY: %s", error)

    def send_socket_mode_response(self, response: dict[str, Any] | SocketModeResponse) -> None:
        """Ack an envelope, its payload (the /oncall answer) redacted like every other outgoing text."""
        body = response.to_dict() if isinstance(response, SocketModeResponse) else response
        super().send_socket_mode_response(redact_value(body))


class LowLatencySocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode adapter on NoDelaySocketModeClient; otherwise Bolt's defaults."""

    def __init__(
        self,
        app: App,
        app_token: str,
        gateway: SlackGateway,
        *,
        on_ack: Callable[[str, float], None] | None = None,
    ) -> None:
        # Bolt builds its client inside __init__ (and that client starts threads at once), so the
        # handler is assembled here instead of replacing the client afterwards.
        self.app = app
        self.app_token = app_token
        self.client = NoDelaySocketModeClient(app_token, gateway, logger=app.logger, proxy=app.client.proxy)
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]
        self._on_ack = on_ack

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        """Dispatch the envelope as Bolt does; ``on_ack`` hears how long the ack took, by command."""
        started = time.perf_counter()
        payload = req.payload if isinstance(req.payload, dict) else {}
        with log_context(event_id=payload.get("event_id")):
            super().handle(client, req)
        if self._on_ack is not None:
            self._on_ack(_label(req), time.perf_counter() - started)


def _label(req: SocketModeRequest) -> str:
    """The slash command ("/oncall"), or the event or interaction type, of an envelope."""
    payload = req.payload if isinstance(req.payload, dict) else {}
    if req.type == "slash_commands":
        return str(payload.get("command") or "command")
    if req.type == "events_api":
        return str((payload.get("event") or {}).get("type") or "event")
    return str(payload.get("type") or req.type)
