"""The PagerDuty sandbox's HTTP plumbing: a threaded loopback server per API host and its handler."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.sandbox.opsgenie_api import Reply

# (role, method, target, headers, body) -> Reply; role is "rest" or "events".
Handle = Callable[[str, str, str, Mapping[str, str], bytes], Reply]


class Server(ThreadingHTTPServer):
    """One API host; tracks open connections so stop() can cut keep-alive clients off, like an outage."""

    daemon_threads = True

    def __init__(self, role: str, handle: Handle) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.role = role
        self.handle = handle
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` without a trailing slash."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        """Serve from a daemon thread; a short poll interval keeps stop() fast."""
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.02,), name=f"pd-sandbox-{self.role}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and drop every open connection."""
        self.shutdown()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    """Moves bytes between the socket and the sandbox's ``handle``."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY each answer waits for a delayed ACK.
    disable_nagle_algorithm = True
    server: Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.handle(self.server.role, self.command, self.path, headers, body)
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
        """Stay quiet: tests read ``PagerDutySandbox.requests()`` instead."""
