"""HEALTH_ADDR: /healthz (the process answers), /readyz (it can do its job) and /metrics (Prometheus)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.config import split_addr
from app.metrics import Metrics
from app.store.db import READ_ONLY, reading
from app.store.models import TeamState

log = logging.getLogger(__name__)

# A row that is inserted and rolled back at once: proves the database takes writes, leaves nothing.
_PROBE_TEAM = "__readyz_probe__"
# A probe must answer within a Kubernetes probe's timeout even while a job holds SQLite's write lock.
_PROBE_BUSY_MS = 2000


class Readiness:
    """What /readyz checks: Socket Mode connected, database writable, a recent successful refresh."""

    def __init__(
        self,
        *,
        connected: Callable[[], bool],
        sessions: sessionmaker[Session],
        refresh_minutes: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._connected, self._sessions, self._clock = connected, sessions, clock
        self._max_age = timedelta(minutes=3 * refresh_minutes)

    def problems(self) -> dict[str, str]:
        """Each check's name → "ok" or a sentence saying what is wrong."""
        return {
            "socket_mode": "ok" if self._connected() else "Socket Mode is not connected to Slack",
            "database": self._database(),
            "refresh": self._refresh(),
        }

    def _database(self) -> str:
        try:
            with self._sessions() as session:
                # A deferred BEGIN: the INSERT asks for the write lock, under the probe's short timeout.
                session.connection(execution_options={READ_ONLY: True})
                bind = session.get_bind()
                if bind.dialect.name == "sqlite":
                    path = bind.engine.url.database
                    if path and path != ":memory:" and not Path(path).expanduser().exists():
                        return f"the database file {path} is gone"
                    session.execute(text(f"PRAGMA busy_timeout = {_PROBE_BUSY_MS}"))
                try:
                    session.execute(insert(TeamState).values(team=_PROBE_TEAM))
                finally:
                    session.rollback()
                    if bind.dialect.name == "sqlite":
                        session.execute(text("PRAGMA busy_timeout = 10000"))
        except SQLAlchemyError as error:
            return f"the database is not writable: {_first_line(error)}"
        return "ok"

    def _refresh(self) -> str:
        try:
            with reading(self._sessions) as session:
                last = session.scalar(select(func.max(TeamState.last_success_at)))
        except SQLAlchemyError as error:
            return f"the last refresh cannot be read: {_first_line(error)}"
        if last is None:
            return "no successful refresh from the pager is recorded yet"
        age = self._clock() - last
        if age > self._max_age:
            minutes = int(age.total_seconds() // 60)
            return f"the last successful refresh was {minutes} min ago (the limit is 3 times refresh_minutes)"
        return "ok"


def _first_line(error: SQLAlchemyError) -> str:
    """The driver's own message (without SQLAlchemy's statement and link lines)."""
    text = str(getattr(error, "orig", None) or error)
    return text.splitlines()[0] if text else type(error).__name__


class HealthServer:
    """A small HTTP server in a daemon thread; it only reads state, so it never blocks the bot."""

    def __init__(self, addr: str, metrics: Metrics) -> None:
        """Bind ``addr`` now (OSError when it is in use); nothing is served before ``start``."""
        self._server = _Server(split_addr(addr), _Handler)
        self._server.metrics = metrics
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="health", daemon=True
        )

    @property
    def url(self) -> str:
        """http://host:port of the bound server (the real port when HEALTH_ADDR asked for port 0)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, readiness: Readiness) -> HealthServer:
        """Serve from now on, /readyz answering with ``readiness``."""
        self._server.readiness = readiness
        self._thread.start()
        log.info("health and metrics at %s (/healthz, /readyz, /metrics)", self.url)
        return self

    def stop(self) -> None:
        """Stop serving (when started) and close the socket."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    readiness: Readiness
    metrics: Metrics


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._json(200, {"status": "ok"})
        elif path == "/readyz":
            checks = self.server.readiness.problems()
            ready = all(value == "ok" for value in checks.values())
            self._json(200 if ready else 503, {"status": "ready" if ready else "not ready", "checks": checks})
        elif path == "/metrics":
            self._send(200, self.server.metrics.exposition(), CONTENT_TYPE_LATEST)
        else:
            self._json(404, {"status": "not found", "paths": ["/healthz", "/readyz", "/metrics"]})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds would drown the bot's own log lines."""
