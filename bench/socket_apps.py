"""The Socket Mode options bench/ack.py measures side by side: bare /oncall apps that only ack.

Each runs as its own process (``python bench/ack.py --bare KIND``) against its own SlackSandbox:
- ``default``: a bare Bolt app on Bolt's default client (the baseline of every target);
- ``builtin+pbr``: the same client, Bolt running the listener before the ack (no 10 ms ack poll);
- ``builtin tuned``: that, plus TCP_NODELAY and the old socket shut down at a reconnect (its reader no
  longer holds the receive lock through a 3 s recv);
- ``websocket_client``: Bolt's adapter on the websocket-client package (``pip install websocket-client``);
- ``aiohttp``: Bolt's asyncio adapter (AsyncApp on aiohttp; ``pip install aiohttp``);
- ``ours``: app/slack/socket_mode.py, the client the bot runs.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from typing import Any

KINDS = ("default", "builtin+pbr", "builtin tuned", "websocket_client", "aiohttp", "ours")


def available(kind: str) -> bool:
    """False when the option's package is not installed (the bench then skips it)."""
    module = {"websocket_client": "websocket", "aiohttp": "aiohttp"}.get(kind)
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _tuned_client() -> type:
    from slack_sdk.socket_mode import SocketModeClient

    class Tuned(SocketModeClient):  # type: ignore[misc]
        def connect(self) -> None:
            old = self.current_session
            if old is not None and old.sock is not None:
                with contextlib.suppress(OSError):  # wakes the reader's recv: close() gets its lock at once
                    old.sock.shutdown(socket.SHUT_RDWR)
            super().connect()
            sock = getattr(self.current_session, "sock", None)
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    return Tuned


def run(kind: str) -> None:
    """Run the bare app of ``kind`` until stdin closes."""
    token, app_token, url = os.environ["BARE_TOKEN"], os.environ["BARE_APP_TOKEN"], os.environ["BARE_URL"]
    if kind == "aiohttp":
        _run_async(token, app_token, url)
        return
    from slack_bolt import App
    from slack_sdk import WebClient

    client = WebClient(token=token, base_url=url)
    app = App(client=client, process_before_response=kind != "default")
    app.command("/oncall")(lambda ack: ack())
    handler: Any
    if kind in ("default", "builtin+pbr"):
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(app, app_token)
    elif kind == "builtin tuned":
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(app, app_token)
        handler.client.close()
        handler.client = _tuned_client()(app_token=app_token, web_client=client)
        handler.client.socket_mode_request_listeners.append(handler.handle)
    elif kind == "websocket_client":
        from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler as WsHandler

        handler = WsHandler(app, app_token)
    else:
        from app.slack.socket_mode import SocketModeConnection

        class Gateway:  # the one call the connection needs
            def open_connection(self, app_token: str) -> str:
                return str(client.apps_connections_open(app_token=app_token)["url"])

        handler = SocketModeConnection(app, app_token, Gateway())  # type: ignore[arg-type]
    handler.connect()
    sys.stdin.read()  # the parent closes stdin (or kills us) to stop


def _run_async(token: str, app_token: str, url: str) -> None:
    import asyncio

    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    async def main() -> None:
        app = AsyncApp(client=AsyncWebClient(token=token, base_url=url), process_before_response=True)

        async def oncall(ack: Any) -> None:
            await ack()

        app.command("/oncall")(oncall)
        await AsyncSocketModeHandler(app, app_token).connect_async()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())
