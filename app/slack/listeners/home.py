"""The App Home tab: app_home_opened → views.publish with every team's on-call and the user's shifts."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from app.runtime import Runtime
from app.services import oncall_view, slack_users
from app.slack import home_blocks
from app.slack.errors import from_sdk


def register(app: App, runtime: Runtime) -> None:
    """Attach the app_home_opened listener to the Bolt app."""

    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any]) -> None:
        user_id = str(event.get("user") or "")
        if event.get("tab", "home") != "home" or not user_id:
            return  # the Messages tab needs no view
        # Events are acked before this runs, so there is time to ask Slack for a zone we lack.
        zone = slack_users.ensure_zone(runtime, user_id, runtime.config.timezone)
        now = runtime.now()
        with runtime.sessions.begin() as session:
            teams = oncall_view.home_teams(session, runtime.config, now)
            mine = oncall_view.my_shifts(session, runtime.config, user_id, now)
            known = slack_users.profile_known(session, user_id)
        view = home_blocks.home_view(teams, mine, zone, now, runtime.provider.name, profile_known=known)
        try:
            runtime.slack.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            raise from_sdk("views.publish", error) from error
