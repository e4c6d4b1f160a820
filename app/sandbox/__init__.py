"""The local sandbox: a stateful Slack (Web API + Socket Mode) and Opsgenie on 127.0.0.1.

Tests and ``oncall-bot demo`` run the real bot against it; nothing here talks to a real service.
"""

from __future__ import annotations

from types import TracebackType

from app.sandbox.opsgenie import OpsgenieSandbox
from app.sandbox.slack_web import SlackSandbox

BOT_TOKEN = "xoxb-sandbox-bot-token"
APP_TOKEN = "xapp-sandbox-app-token"
GENIE_KEY = "sandbox-genie-key"


class Sandbox:
    """Local Slack and Opsgenie servers started together, with the environment that points at them."""

    def __init__(self) -> None:
        self.slack = SlackSandbox(bot_token=BOT_TOKEN, app_token=APP_TOKEN)
        self.opsgenie = OpsgenieSandbox(api_key=GENIE_KEY)

    def start(self) -> Sandbox:
        """Bind both servers to free ports on 127.0.0.1."""
        self.slack.start()
        self.opsgenie.start()
        return self

    def stop(self) -> None:
        """Shut both servers down."""
        self.slack.stop()
        self.opsgenie.stop()

    def env(self) -> dict[str, str]:
        """Environment variables that point the bot at this sandbox."""
        return {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": self.slack.api_url,
            "OPSGENIE_API_KEY": GENIE_KEY,
            "OPSGENIE_API_URL": self.opsgenie.url,
        }

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
