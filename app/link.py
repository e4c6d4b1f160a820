"""The bot's first link to Slack: the Web API gateway, who the bot is, and the Socket Mode connection.

`run` opens this before the rest of the bot is imported (``app/run.py``), so this module and what it
imports load no SQLAlchemy, store, scheduler, pager client or Bolt (tests/test_start_imports.py). The
sentences of a refused token or connection are the ones `run` has always printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.chat import SlackCallFailed
from app.config import ConfigError, Settings, StartupError
from app.metrics import Metrics
from app.oncall_config import OncallConfig
from app.providers.registry import check_credentials
from app.redaction import redact
from app.slack.gateway import SlackGateway
from app.slack.socket_mode import SocketModeConnection
from app.stopping import Stopping

if TYPE_CHECKING:
    from slack_bolt import App


@dataclass(frozen=True, slots=True)
class Link:
    """An open Socket Mode connection with no app yet, and the gateway and metrics it was opened with."""

    metrics: Metrics
    gateway: SlackGateway
    bot_user_id: str  # who the bot token belongs to (auth.test)
    connection: SocketModeConnection


def require_credentials(settings: Settings, config: OncallConfig) -> None:
    """ConfigError naming the env var a pager some team uses lacks; before any network call."""
    problems = check_credentials(settings, config.teams)
    if problems:
        raise ConfigError("\n".join(f"{config.path}: {problem}" for problem in problems))


def bot_user_id(gateway: SlackGateway) -> str:
    """auth.test: the bot token's user id; StartupError (one sentence) when Slack refuses the token."""
    try:
        return gateway.identity().user_id
    except SlackCallFailed as failure:
        raise StartupError(f"{failure} (`oncall-bot check` tests every setting)") from None


def open_socket(
    settings: Settings, gateway: SlackGateway, metrics: Metrics, app: App | None = None
) -> SocketModeConnection:
    """The Socket Mode connection, open (Slack said hello); without ``app`` until ``attach()``."""
    connection = SocketModeConnection(
        app, settings.slack_app_token.get_secret_value(), gateway, on_ack=metrics.acked
    )
    try:
        connection.connect()
    # The URL was refused, or the websocket did not open (a network error, or a handshake Slack answered
    # with something other than an upgrade: connect() raises those as ConnectionError).
    except (SlackCallFailed, OSError) as error:
        connection.close()
        reason = (
            str(error)
            if isinstance(error, SlackCallFailed)
            else redact(f"Slack could not be reached: {error}")
        )
        raise StartupError(
            f"cannot open the Socket Mode connection: {reason}; check SLACK_APP_TOKEN (xapp-, with "
            "connections:write) and that Socket Mode is enabled for the app"
        ) from None
    return connection


def open_link(settings: Settings, config: OncallConfig, stopping: Stopping) -> Link:
    """Check the pagers' credentials, then ask auth.test and open Socket Mode: envelopes wait for an app."""
    require_credentials(settings, config)
    metrics = Metrics()
    return connect_link(settings, SlackGateway.running(settings, metrics, stopping), metrics)


def connect_link(settings: Settings, gateway: SlackGateway, metrics: Metrics) -> Link:
    """auth.test, then the Socket Mode connection on ``gateway``: envelopes wait for an app."""
    user = bot_user_id(gateway)
    return Link(metrics, gateway, user, open_socket(settings, gateway, metrics))
