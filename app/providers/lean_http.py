"""A pager client's requests sent straight to its httpx transport, without the Client's per-request work.

``httpx.Client.request`` costs ~1.2 ms of CPU per loopback GET, about twice what its transport (the
connection pool and h11) does: it parses and merges the URL three times, merges headers and cookies,
runs the auth and redirect machinery and extracts cookies from every answer. A pager client needs none
of that per request: its headers and credentials are fixed, it follows no redirects and keeps no
cookies. ``LeanSender`` builds the request once, already merged, and hands it to the transport the
Client itself would use for the base URL (its pool, or the proxy the environment names), with the
Client's timeouts; what comes back is the same ``httpx.Response``, read in full, or the same
``httpx.TransportError``, so retries, 429 handling and redaction see no difference.

A plain GET on the lean pool (no extra headers, a path of URL-safe characters: every cycle read) skips
even ``httpx.Request``, whose URL validation checked the ~120 characters one by one (a fifth of the
request's CPU): the request line and headers go to httpcore as bytes, and the answer's ``request`` is
built only if something reads it (an error names its path).
"""

from __future__ import annotations

import re
import ssl
from base64 import b64encode
from collections.abc import Callable, Mapping
from typing import Any

import httpcore
import httpx

from app.providers.keepalive import KeepAlivePool

# What a path may hold to go out as it is: RFC 3986's unreserved and sub-delims, '%', ':', '@', '/'.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*")


class LeanSender:
    """Sends requests for ``client`` through its transport, with its base URL, headers and timeout."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.base_url = client.base_url  # as the Client shows it (with its trailing slash)
        self._base = str(client.base_url).rstrip("/")
        self._transport = lean_transport(client)
        self._headers = client.headers
        self._extensions = {"timeout": client.timeout.as_dict()}
        # The plain GET's request line parts and headers, as httpx.Request would send them.
        first = httpx.Request("GET", self._base + "/", headers=client.headers)
        url = first.url
        self._origin = httpcore.Origin(url.raw_scheme, url.raw_host, url.port or _default_port(url))
        self._prefix = url.raw_path.rstrip(b"/")
        self._raw_headers = first.headers.raw
        self._queries: dict[tuple[tuple[str, str], ...], bytes] = {}

    def url(self, path: str, params: Any = None) -> str:
        """The full URL of ``path`` (already quoted) with ``params``, as the Client would build it."""
        url = self._base + path
        return f"{url}?{httpx.QueryParams(params)}" if params else url

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one request and return its answer, read in full (the connection goes back to the pool)."""
        pool = self._transport
        if (
            method == "GET"
            and not headers
            and isinstance(pool, KeepAlivePool)
            and _PLAIN_PATH.fullmatch(path)
        ):
            return self._plain_get(pool, path, params)
        merged = self._headers
        if headers:
            merged = self._headers.copy()
            merged.update(headers)
        request = httpx.Request(
            method, self.url(path, params), headers=merged, json=json, extensions=self._extensions
        )
        response = self._transport.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        response.request = request
        return response

    def _plain_get(self, pool: KeepAlivePool, path: str, params: Any) -> httpx.Response:
        target = self._prefix + path.encode("ascii")
        if params:
            target += b"?" + self._query(params)
        origin = self._origin
        url = httpcore.URL(scheme=origin.scheme, host=origin.host, port=origin.port, target=target)
        core = httpcore.Request(b"GET", url, headers=self._raw_headers, extensions=self._extensions)
        status, headers, content, extensions = pool.exchange(origin, core)
        answer = _Answer(status, headers=headers, stream=httpx.ByteStream(content), extensions=extensions)
        answer.read()  # decodes a compressed body, as the Client's read did
        answer.build = lambda: httpx.Request("GET", self.url(path, params), headers=self._headers)
        return answer

    def _query(self, params: Any) -> bytes:
        """``params`` encoded by httpx.QueryParams; the last few kept (a cycle's teams share theirs)."""
        key = tuple(params.items()) if isinstance(params, dict) else None
        if key is not None and all(isinstance(value, str) for _, value in key):
            found = self._queries.get(key)
            if found is None:
                if len(self._queries) >= 16:
                    self._queries.clear()
                found = self._queries[key] = str(httpx.QueryParams(params)).encode("ascii")
            return found
        return str(httpx.QueryParams(params)).encode("ascii")

    def close(self) -> None:
        """Close the connections, and the Client."""
        self._transport.close()
        self.client.close()


def lean_transport(client: httpx.Client) -> httpx.BaseTransport:
    """The transport for ``client``'s base URL: the Client's own choice, its default pool made lean.

    A test's transport, a mount or the proxy the environment names stay as the Client chose them; only
    httpx's default transport (direct, HTTP/1.1) gives way to a ``KeepAlivePool`` with its TLS settings.
    """
    chosen = client._transport_for_url(client.base_url)
    pool = getattr(chosen, "_pool", None)
    if type(chosen) is not httpx.HTTPTransport or type(pool) is not httpcore.ConnectionPool:
        return chosen
    context = getattr(pool, "_ssl_context", None)
    chosen.close()  # never used: nothing to release but its (empty) pool
    return KeepAlivePool(context if isinstance(context, ssl.SSLContext) else None)


def basic_auth(username: str, password: str) -> dict[str, str]:
    """The ``Authorization`` header of HTTP Basic auth, built once (what ``httpx.BasicAuth`` sends)."""
    token = b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class _Answer(httpx.Response):
    """An answer whose ``request`` is built when first read (only errors name it)."""

    build: Callable[[], httpx.Request]

    @property
    def request(self) -> httpx.Request:
        """The request this answers, as httpx.Request would have been sent."""
        if self._request is None:
            self._request = self.build()
        return self._request

    @request.setter
    def request(self, value: httpx.Request) -> None:
        self._request = value


def _default_port(url: httpx.URL) -> int:
    return 443 if url.raw_scheme == b"https" else 80
