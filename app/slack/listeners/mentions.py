"""The app_mention listener: mentioning the bot escalates to the team's on-call people in a thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from app.lanes import MENTIONS, PAGES
from app.runtime import Runtime
from app.services import escalation


def register(app: App, runtime: Runtime, bot_user_id: str | None) -> None:
    """Attach the app_mention listener to the Bolt app (``bot_user_id``: the bot's own, from auth.test)."""

    # Bolt acks events before the listener runs. The escalation (record, reply in the thread) runs on the
    # background pool and the page on a page worker, so neither a slow Slack nor a slow pager can hold
    # Bolt's few listener threads, which the /oncall acks share. A mention that pages has a lane of its
    # own: no reply, App Home view or other mention waiting on Slack is ever ahead of it.
    @app.event("app_mention")
    def on_mention(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        mention = escalation.mention_from_event(
            event, event_id=body.get("event_id"), bot_user_id=context.bot_user_id or bot_user_id
        )
        lane = PAGES if escalation.asks_to_page(runtime.config, mention) else MENTIONS
        work = lambda: escalation.handle_mention(runtime, mention, runtime.now())  # noqa: E731
        runtime.background.run(f"escalation {mention.event_id}", work, lane=lane)
