"""The pager clients' lean HTTP path over real sockets: keep-alive reuse, replaced and failed connections."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.domain import OnCall
from app.providers import Unreachable
from app.providers.keepalive import KeepAlivePool
from app.providers.lean_http import LeanSender, basic_auth
from app.providers.opsgenie import OpsgenieProvider
from app.providers.tuning import Tuning
from app.sandbox.opsgenie import OpsgenieSandbox, Rotation

KEY = "og-secret-key-lean"
NAME = "Platform primary"
MONDAY = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def og() -> Iterator[OpsgenieSandbox]:
    """A sandbox with one weekly schedule: alice, then bob."""
    with OpsgenieSandbox(api_key=KEY) as sandbox:
        rotation = Rotation("weekly", ["alice@x.com", "bob@x.com"], MONDAY, timedelta(days=7))
        sandbox.add_schedule(NAME, rotations=[rotation])
        yield sandbox


def _alice(provider: OpsgenieProvider) -> OnCall:
    return provider.on_call(NAME, MONDAY + timedelta(hours=1))


def test_a_cycle_s_requests_share_one_connection(og: OpsgenieSandbox) -> None:
    with OpsgenieProvider(KEY, og.url) as provider:
        answers = {_alice(provider).people for _ in range(25)}
    assert answers == {("alice@x.com",)}
    assert len(og.requests()) == 25
    assert og.connections_accepted == 1


def test_a_connection_the_pager_closed_is_replaced(og: OpsgenieSandbox) -> None:
    sleeps: list[float] = []
    with OpsgenieProvider(KEY, og.url, tuning=Tuning(sleep=sleeps.append)) as provider:
        assert _alice(provider).people == ("alice@x.com",)
        og.cut_connections()  # the pager's idle timeout: the pooled connection is gone
        assert _alice(provider).people == ("alice@x.com",)
    assert og.connections_accepted == 2
    assert [r.status for r in og.requests()] == [200, 200]


def test_a_timed_out_connection_is_not_reused(og: OpsgenieSandbox) -> None:
    sleeps: list[float] = []
    og.hang(1.0, times=1)
    tuning = Tuning(timeout=0.2, max_retries=1, sleep=sleeps.append)
    with OpsgenieProvider(KEY, og.url, tuning=tuning) as provider:
        assert _alice(provider).people == ("alice@x.com",)  # the retry, on a fresh connection
        assert _alice(provider).people == ("alice@x.com",)  # and that one is kept
    assert len(sleeps) == 1
    assert og.connections_accepted == 2


def test_timeouts_still_give_up_as_unreachable(og: OpsgenieSandbox) -> None:
    og.hang(3.0, times=2)
    tuning = Tuning(timeout=0.2, max_retries=1, sleep=lambda _: None)
    with (
        OpsgenieProvider(KEY, og.url, tuning=tuning) as provider,
        pytest.raises(Unreachable, match=r"no answer within 0\.2 s"),
    ):
        _alice(provider)


def test_an_environment_proxy_is_still_used(og: OpsgenieSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{unused.getsockname()[1]}"
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", dead)
    tuning = Tuning(max_retries=0)
    with (
        OpsgenieProvider(KEY, og.url, tuning=tuning) as provider,
        pytest.raises(Unreachable, match="connect"),
    ):
        _alice(provider)  # through the (dead) proxy the environment names, as httpx.Client would
    assert og.requests() == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (
            "/v2/schedules/a%2Fb%3Fc/on-calls",
            {"scheduleIdentifierType": "name", "date": "2024-01-01T08:00:00Z"},
        ),
        ("/v2/alerts", {"query": "alias: x+y/z?&=é"}),
        (
            "/oncalls",
            [("schedule_ids[]", "A"), ("schedule_ids[]", "B"), ("since", "2024-01-01T09:00:00+01:00")],
        ),
        ("/v2/account", None),
    ],
)
def test_the_url_and_headers_are_the_client_s(path: str, params: Any) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    headers = {"Authorization": "GenieKey k", "Accept": "application/json"}
    client = httpx.Client(
        base_url="https://api.example/base", headers=headers, transport=httpx.MockTransport(answer)
    )
    lean = LeanSender(client)
    lean.request("GET", path, params=params, headers=basic_auth("me@x", "tök:en"))
    client.request("GET", path, params=params, auth=httpx.BasicAuth("me@x", "tök:en"))
    ours, theirs = seen
    assert str(ours.url) == str(theirs.url)
    assert sorted(ours.headers.multi_items()) == sorted(theirs.headers.multi_items())  # order aside
    lean.close()


def test_only_httpx_s_default_transport_is_made_lean() -> None:
    direct = LeanSender(httpx.Client(base_url="https://api.example"))
    mocked = LeanSender(
        httpx.Client(
            base_url="https://api.example", transport=httpx.MockTransport(lambda r: httpx.Response(204))
        )
    )
    assert isinstance(direct._transport, KeepAlivePool)
    assert isinstance(mocked._transport, httpx.MockTransport)
    direct.close()
    mocked.close()


class _Heads(socketserver.StreamRequestHandler):
    """Records each request's head as sent (request line and headers) and answers 200 with JSON."""

    heads: list[bytes]

    def handle(self) -> None:
        while head := self._head():
            self.heads.append(head)
            body = b'{"data": {}}'
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            self.wfile.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def _head(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            lines.append(line)
        return b"".join(lines)


def test_a_plain_get_goes_out_byte_for_byte_as_httpx_client_sends_it() -> None:
    heads: list[bytes] = []
    handler = type("Heads", (_Heads,), {"heads": heads})
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/api"
        headers = {"Authorization": "GenieKey k", "Accept": "application/json"}
        path, params = "/v2/schedules/a%2Fb%3Fc/on-calls", {"flat": "true", "date": "2024-01-01T08:00:00Z"}
        with httpx.Client(base_url=base, headers=headers) as client:
            client.get(path, params=params)
        lean = LeanSender(httpx.Client(base_url=base, headers=headers))
        answer = lean.request("GET", path, params=params)
        lean.close()
        server.shutdown()
    assert answer.json() == {"data": {}}
    assert answer.request.url.path == "/api/v2/schedules/a/b?c/on-calls"  # built when read, as errors do
    theirs, ours = heads
    assert ours == theirs
