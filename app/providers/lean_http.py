"""A pager client's requests sent straight to its httpx transport, without the Client's per-request work.

``httpx.Client.request`` costs ~1.2 ms of CPU per loopback GET, about twice what its transport (the
connection pool and h11) does: it parses and merges the URL three times, merges headers and cookies,
runs the auth and redirect machinery and extracts cookies from every answer. A pager client needs none
of that per request: its headers and credentials are fixed, it follows no redirects and keeps no
cookies. ``LeanSender`` builds the request once, already merged, and hands it to the transport the
Client itself would use for the base URL (its pool, or the proxy the environment names), with the
Client's timeouts; what comes back is the same ``httpx.Response``, read in full, or the same
``httpx.TransportError``, so retries, 429 handling and redaction see no difference.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Mapping
from typing import Any

import httpx


class LeanSender:
    """Sends requests for ``client`` through its transport, with its base URL, headers and timeout."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.base_url = client.base_url  # as the Client shows it (with its trailing slash)
        self._base = str(client.base_url).rstrip("/")
        # The Client's own choice for this host: its pool, a mounted transport, or an environment proxy.
        self._transport = client._transport_for_url(client.base_url)
        self._headers = client.headers
        self._extensions = {"timeout": client.timeout.as_dict()}

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

    def close(self) -> None:
        """Close the Client (and with it the transport's connections)."""
        self.client.close()


def basic_auth(username: str, password: str) -> dict[str, str]:
    """The ``Authorization`` header of HTTP Basic auth, built once (what ``httpx.BasicAuth`` sends)."""
    token = b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
