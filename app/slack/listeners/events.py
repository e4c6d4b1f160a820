"""Event listeners: app_mention (escalation) and app_home_opened (App Home)."""

from __future__ import annotations

from slack_bolt import App

from app.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    """Attach the event listeners to the Bolt app."""
    del app, runtime  # escalation and App Home listeners are added by their features
