"""A keep-alive pool for one pager host: httpcore's connections without its general-purpose pool.

httpcore's ConnectionPool serves any number of hosts and queued requests: every request walks every
pooled connection twice (a ``poll`` on each idle socket, an ``is_idle`` count per connection), so with
the cycle's 16 connections to one host it cost more than the request itself. A pager client talks to
one host and never queues (a request without an idle connection opens its own), so a stack of idle
connections does: take the newest, check it still holds (``has_expired``: the keep-alive ran out or the
server closed it), send, read the answer in full, put it back. Failures become httpx's exceptions,
exactly as its own transport maps them.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

Exchange = tuple[int, list[tuple[bytes, bytes]], bytes, MutableMapping[str, Any]]

# httpx's own defaults (httpx.Limits(): 20 idle connections kept, for 5 s).
MAX_IDLE = 20
KEEPALIVE_EXPIRY = 5.0

# httpcore's exceptions as httpx's transport maps them, the most specific first.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for found, mapped in _ERRORS:
            if isinstance(exc, found):
                raise mapped(str(exc)) from exc
        raise


class KeepAlivePool(httpx.BaseTransport):
    """HTTP/1.1 keep-alive connections to one origin, the newest idle one reused first."""

    def __init__(self, ssl_context: ssl.SSLContext | None) -> None:
        self._ssl_context = ssl_context
        self._idle: list[httpcore.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False
        self.opened = 0  # connections opened so far (tests read it)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on an idle connection (or a new one) and return the answer read in full."""
        url = request.url
        origin = httpcore.Origin(url.raw_scheme, url.raw_host, url.port or _default_port(url.raw_scheme))
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,  # httpx's sync stream: an iterable of bytes
            extensions=request.extensions,
        )
        status, headers, content, extensions = self.exchange(origin, core)
        return httpx.Response(
            status_code=status, headers=headers, stream=httpx.ByteStream(content), extensions=extensions
        )

    def exchange(self, origin: httpcore.Origin, request: httpcore.Request) -> Exchange:
        """Send httpcore's ``request`` to ``origin``: the answer's status, headers, body and extensions."""
        connection = self._take(origin)
        with _as_httpx_errors():
            try:
                answer = connection.handle_request(request)
                try:
                    content = b"".join(answer.stream)  # type: ignore[arg-type]  # sync: iterable
                finally:
                    answer.close()
            except BaseException:
                connection.close()
                raise
        self._give(connection)
        return answer.status, answer.headers, content, answer.extensions

    def _take(self, origin: httpcore.Origin) -> httpcore.HTTPConnection:
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if connection.can_handle_request(origin) and not connection.has_expired():
                    return connection
                connection.close()  # the keep-alive ran out, or the server closed it meanwhile
            self.opened += 1
        expiry = KEEPALIVE_EXPIRY
        return httpcore.HTTPConnection(origin, ssl_context=self._ssl_context, keepalive_expiry=expiry)

    def _give(self, connection: httpcore.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE and connection.is_idle():
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close every idle connection; the ones in use close as their requests end."""
        with self._lock:
            self._closed, idle, self._idle = True, self._idle, []
        for connection in idle:
            connection.close()


def _default_port(scheme: bytes) -> int:
    return 443 if scheme == b"https" else 80
