"""Pure renderers for the notices posted in a team channel (stale data, empty group, unmapped people).

Each notice is one mrkdwn text that is also the only section of its message, so each stays within
Slack's 3,000 characters: lists are cut at whole names, error details are shortened.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.slack.blocks import escape
from app.slack.limits import fit_names, truncate

DETAIL_CHARS = 500  # an error sentence from the pager or Slack
PEOPLE_CHARS = 1_500


def local_time(at: datetime, zone: str) -> str:
    """``at`` as HH:MM with the zone's abbreviation, e.g. '11:40 CET'."""
    local = at.astimezone(ZoneInfo(zone))
    return f"{local:%a %H:%M} {local.tzname()}"


def pager_unreachable(
    team: str, usergroup: str, error: str, since: datetime, data_from: datetime | None, zone: str
) -> str:
    """Said once when the pager stops answering for a team."""
    cached = f"showing data from {local_time(data_from, zone)}" if data_from else "no cached data yet"
    return (
        f":warning: *{escape(team)}*: the pager is unreachable since {local_time(since, zone)} "
        f"({_detail(error)}). I left @{escape(usergroup)} as it is; /oncall is {cached}."
    )


def pager_recovered(team: str, since: datetime, now: datetime, zone: str) -> str:
    """Said once when the pager answers again."""
    return (
        f":white_check_mark: *{escape(team)}*: the pager answers again (it was unreachable from "
        f"{local_time(since, zone)} to {local_time(now, zone)}); on-call data is fresh."
    )


def nobody_on_call(team: str, usergroup: str, unmapped: list[str]) -> str:
    """Said once when nobody (mapped) is on call, so the group was left unchanged."""
    why = "the pager says nobody is on call"
    if unmapped:
        names = fit_names([escape(p) for p in unmapped], PEOPLE_CHARS)
        why = f"nobody on call has a usable Slack account ({names})"
    return (
        f":warning: *{escape(team)}*: {why}. Slack does not allow an empty user group, so I left "
        f"@{escape(usergroup)} as it is. Check the pager's schedule."
    )


def unmapped_person(team: str, pager_id: str, problem: str) -> str:
    """Said once per person per shift when an on-call person cannot be put in the group."""
    if "@" not in pager_id:  # an account id (JSM hides the email): only a [people] line reaches Slack
        fix = (
            f'Fix it by adding `"{_detail(pager_id)}" = "U…"` (their Slack member ID) under `[people]` '
            "in the teams file."
        )
    else:
        fix = (
            "Fix it by adding them to `[people]` in the teams file (pager email → Slack user ID), or by "
            "using the same email in the pager and in Slack."
        )
    return (
        f":warning: *{escape(team)}*: {_detail(pager_id)} is on call but {_detail(problem)}, "
        f"so they are not in the user group. {fix}"
    )


def sync_failed(team: str, usergroup: str, sentence: str) -> str:
    """Said once per problem when Slack refuses the usergroup update."""
    return f":x: *{escape(team)}*: I could not update @{escape(usergroup)}: {_detail(sentence)}."


def _detail(text: str) -> str:
    """Pager or Slack text, escaped and short enough that the notice stays one section."""
    return truncate(escape(text), DETAIL_CHARS)


def needs_admin(team: str, sentence: str) -> str:
    """Said once when the team's setup broke in a way only an admin can fix."""
    return (
        f":rotating_light: *{escape(team)}*: {_detail(sentence)}. An admin must fix this; "
        "until then this team is not kept in sync."
    )
