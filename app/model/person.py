"""The one identity of a person, as every layer speaks of them: the pager's, Slack's, and how they map."""

from __future__ import annotations

from dataclasses import dataclass

# Statuses whose Slack account can be mentioned (a guest is a member of the workspace too).
MENTIONABLE = ("ok", "guest")


@dataclass(frozen=True, slots=True)
class Person:
    """A pager identity and the Slack account it resolved to, if any.

    ``pager_id``: how the pager names them (an email; for JSM maybe an Atlassian account id);
    ``slack_user_id``: their Slack account; ``name``: Slack's display name, for saying who someone is
    without pinging them; ``status``: how the lookup went, as in PersonRow ("ok", "guest", "not_found",
    "no_email", "deleted", "bot", ...), or "unknown" when not looked up yet.
    """

    pager_id: str
    slack_user_id: str | None = None
    name: str | None = None
    status: str = "unknown"

    @property
    def mentionable(self) -> bool:
        """True when the person can be shown as a Slack mention (guests included)."""
        return self.slack_user_id is not None and self.status in MENTIONABLE

    @property
    def mapped(self) -> bool:
        """True when a mention reaches an active full member: one who can be handed a shift or a page."""
        return self.slack_user_id is not None and self.status == "ok"
