"""What an escalation sends to the pager, and when to try again: the alert built from the row, the backoff
between failed creates, and the pace of following an accepted request until it is confirmed."""

from __future__ import annotations

from datetime import timedelta

from app.domain import AlertRequest, Team
from app.store.models import Escalation

# The statuses the pager still has to act on.
ACTIVE_STATUSES = ("pending", "requested")
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(minutes=5)
# An accepted alert request not processed yet is asked about again 5 s, 10 s, 20 s … (at most a minute)
# later, and given up as unconfirmed this long after Opsgenie accepted it.
FOLLOW_FIRST = timedelta(seconds=5)
FOLLOW_MAX = timedelta(minutes=1)
CONFIRM_WITHIN = timedelta(minutes=10)
MESSAGE_LIMIT = 130


def backoff(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: 10 s, 20 s, 40 s … capped at 5 minutes."""
    # The exponent is capped too: 10 s * 2**49 would overflow timedelta long before MAX_ATTEMPTS.
    return min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 16)), MAX_RETRY)


def follow_delay(waited: timedelta) -> timedelta:
    """The wait before asking again about a request unprocessed for ``waited``: 5 s, 10 s, 20 s … 1 min."""
    return min(waited + FOLLOW_FIRST, FOLLOW_MAX)


def build_alert(row: Escalation, team: Team, *, reporter: str, permalink: str | None) -> AlertRequest:
    """The pager alert for an escalation: enough to act on it and to find the Slack thread."""
    fallback = f"Escalation from Slack for team {team.name}"
    message = " ".join(row.text.split())[:MESSAGE_LIMIT].rstrip() or fallback
    where = f"Thread: {permalink}" if permalink else "Slack gave no permalink for the message."
    description = f"{row.text}\n\nReported in Slack by {reporter} in channel {row.channel}.\n{where}"
    details = {
        "channel": row.channel,
        "ts": row.message_ts,
        "thread_ts": row.thread_ts,
        "user": row.user_id,
        "team": team.name,
    }
    if permalink:
        details["permalink"] = permalink
    return AlertRequest(
        message=message,
        description=description,
        alias=row.alias or f"slack-{row.channel}-{row.message_ts}",
        schedule=team.schedule,
        priority=row.priority,
        tags=("oncall-bot", "slack", team.name),
        details=details,
    )
