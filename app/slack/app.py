"""The Bolt app: listeners registered on it, and one error handler for all of them."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware.authorization import SingleTeamAuthorization

from app.log_json import ContextThreadPool
from app.runtime import Runtime
from app.slack.gateway import AuthTestAnswer
from app.slack.listeners import actions, commands, home, mentions

log = logging.getLogger(__name__)


def build_bolt_app(runtime: Runtime, bot_user_id: str | None = None) -> App:
    """A Bolt app on the runtime's WebClient, with every listener registered."""
    verified = runtime.slack.verified_identity
    app = App(
        client=runtime.slack.bolt_client,  # Bolt's own plumbing; listeners only ack and use the gateway
        # Socket Mode envelopes are authenticated by the app token; no signing secret exists.
        request_verification_enabled=False,
        ignoring_self_events_enabled=True,
        # The token was verified already (run's auth.test, before Socket Mode opened): Bolt asking again
        # would hold every envelope waiting since hello for a Web API call (3 s and more when throttled).
        token_verification_enabled=verified is None,
        logger=logging.getLogger("app.slack.bolt"),
        # Bolt's own default pool size; the listeners' log lines keep the envelope's event id.
        listener_executor=ContextThreadPool(max_workers=5, thread_name_prefix="bolt-listener"),
        # Every listener is thin (slow work goes to runtime.background), so Bolt runs it on the envelope's
        # own thread and acks the moment it returns, instead of polling for the ack every 10 ms: that poll
        # was the whole of a /oncall ack's ~11 ms (bench/ack.py).
        process_before_response=True,
    )
    if verified is not None:
        _verified_by(app, verified)
    commands.register(app, runtime)
    mentions.register(app, runtime, bot_user_id)
    home.register(app, runtime)
    actions.register(app, runtime)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], request: BoltRequest) -> BoltResponse:
        kind = body.get("command") or body.get("event", {}).get("type") or body.get("type")
        log.error("listener for %s failed: %s", kind, error, exc_info=error)
        # A listener that acked (a sentence for the user) and then raised keeps that ack: Bolt sends what
        # this handler returns in its place.
        acked = request.context.ack.response
        return acked if acked is not None else BoltResponse(status=200, body="")

    return app


def _verified_by(app: App, answer: AuthTestAnswer) -> None:
    """Give Bolt's single-workspace authorization the auth.test ``answer`` it would have asked for.

    Without it Bolt asks auth.test on the first envelope, before its ack; with it, who the bot is (its
    user and bot ids, which ignoring its own events needs) is what that answer says, as Bolt's own would.
    """
    # Bolt has no public way to pass it; should a Bolt release rename the list, nothing is given and Bolt
    # asks auth.test itself on the first envelope (tests/e2e/test_connect_first.py counts the calls).
    for middleware in getattr(app, "_middleware_list", []):
        if isinstance(middleware, SingleTeamAuthorization) and middleware.auth_test_result is None:
            middleware.auth_test_result = answer
