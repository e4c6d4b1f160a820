"""The App Home tab: app_home_opened → views.publish with every team's on-call and the user's shifts."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from app.i18n import translator
from app.runtime import Runtime
from app.services import oncall_view, slack_users
from app.slack import home_blocks
from app.store.db import reading


def register(app: App, runtime: Runtime) -> None:
    """Attach the app_home_opened listener to the Bolt app."""

    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any]) -> None:
        user_id = str(event.get("user") or "")
        if event.get("tab", "home") != "home" or not user_id:
            return  # the Messages tab needs no view
        # Slack calls follow (users.info, views.publish): off Bolt's threads, which /oncall acks need.
        runtime.background.run(f"App Home for {user_id}", lambda: publish_home(runtime, user_id))


def publish_home(runtime: Runtime, user_id: str) -> None:
    """Render and publish the App Home of ``user_id`` (events are acked already: Slack may be asked)."""
    zone = slack_users.ensure_zone(runtime, user_id, runtime.config.timezone)
    now = runtime.now()
    with reading(runtime.sessions) as session:
        teams = oncall_view.home_teams(session, runtime.config, now)
        mine = oncall_view.my_shifts(session, runtime.config, user_id, now)
        known = slack_users.profile_known(session, user_id)
    # The Home tab spans teams: the reader's Slack language, else the top-level default.
    t = translator(slack_users.choose_reader_language(zone.locale, runtime.config.language))
    view = home_blocks.home_view(teams, mine, zone, now, runtime.providers.label, profile_known=known, t=t)
    runtime.slack.publish_home(user_id, view)  # a view over Slack's limits is refused there, in words
