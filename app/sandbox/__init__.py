"""The local sandbox: a stateful Slack (Web API + Socket Mode), Opsgenie, PagerDuty and JSM on 127.0.0.1.

Tests and ``oncall-bot demo`` run the real bot against it; nothing here talks to a real service.
"""

from __future__ import annotations

from types import TracebackType

from app.sandbox.jsm import API_TOKEN as JSM_API_TOKEN
from app.sandbox.jsm import EMAIL as JSM_EMAIL
from app.sandbox.jsm import JsmSandbox
from app.sandbox.opsgenie import OpsgenieSandbox
from app.sandbox.pagerduty import PagerDutySandbox
from app.sandbox.slack_web import SlackSandbox

BOT_TOKEN = "xoxb-sandbox-bot-token"
APP_TOKEN = "xapp-sandbox-app-token"
GENIE_KEY = "sandbox-genie-key"
PAGERDUTY_TOKEN = "sandbox-pagerduty-token"
PAGERDUTY_ROUTING_KEY = "R0SANDBOX0ROUTING0KEY00000000001"  # 32 letters and digits, like a real one


class Sandbox:
    """Local Slack, Opsgenie, PagerDuty and JSM servers started together, with the environment to use them."""

    def __init__(self) -> None:
        self.slack = SlackSandbox(bot_token=BOT_TOKEN, app_token=APP_TOKEN)
        self.opsgenie = OpsgenieSandbox(api_key=GENIE_KEY)
        self.pagerduty = PagerDutySandbox(api_token=PAGERDUTY_TOKEN, routing_key=PAGERDUTY_ROUTING_KEY)
        self.jsm = JsmSandbox(email=JSM_EMAIL, api_token=JSM_API_TOKEN)

    def start(self) -> Sandbox:
        """Bind every server to a free port on 127.0.0.1."""
        self.slack.start()
        self.opsgenie.start()
        self.pagerduty.start()
        self.jsm.start()
        return self

    def stop(self) -> None:
        """Shut every server down."""
        self.slack.stop()
        self.opsgenie.stop()
        self.pagerduty.stop()
        self.jsm.stop()

    def env(self) -> dict[str, str]:
        """Environment variables that point the bot at this sandbox."""
        return {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": self.slack.api_url,
            "OPSGENIE_API_KEY": GENIE_KEY,
            "OPSGENIE_API_URL": self.opsgenie.url,
            "PAGERDUTY_API_TOKEN": PAGERDUTY_TOKEN,
            "PAGERDUTY_API_URL": self.pagerduty.url,
            "PAGERDUTY_ROUTING_KEY": PAGERDUTY_ROUTING_KEY,
            "PAGERDUTY_EVENTS_URL": self.pagerduty.events_url,
        }

    def jsm_env(self) -> dict[str, str]:
        """The variables that point the bot at the JSM sandbox (apart: they make `check` look at JSM)."""
        # The cloud id is left to discovery from the site's tenant_info, as in most installs.
        return {
            "JSM_SITE_URL": self.jsm.site_url,
            "JSM_EMAIL": JSM_EMAIL,
            "JSM_API_TOKEN": JSM_API_TOKEN,
            "JSM_API_URL": self.jsm.api_url,
        }

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
