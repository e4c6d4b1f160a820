"""The /oncall slash command: parse, read the cache, answer in the ack itself."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from app.runtime import Runtime
from app.slack import blocks


def register(app: App, runtime: Runtime) -> None:
    """Attach the /oncall listener to the Bolt app."""

    @app.command("/oncall")
    def oncall(ack: Ack, command: dict[str, Any]) -> None:
        words = str(command.get("text") or "").split()
        names = [team.name for team in runtime.config.teams]
        if not words or words[0].lower() == "help":
            ack(**blocks.help_message(names))
            return
        ack(**blocks.help_message(names, not_understood=" ".join(words)))
