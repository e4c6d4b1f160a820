"""Pure renderers for the notices posted in a team channel (stale data, empty group, unmapped people).

Each notice is one mrkdwn text that is also the only section of its message, so each stays within
Slack's 3,000 characters: lists are cut at whole names, error details are shortened.
"""

from __future__ import annotations

from datetime import datetime

from app.i18n import EN, Translator
from app.slack.blocks import escape, more_names
from app.slack.limits import fit_names, truncate
from app.slack.words import local_time

DETAIL_CHARS = 500  # an error sentence from the pager or Slack
PEOPLE_CHARS = 1_500


def pager_unreachable(
    team: str,
    usergroup: str,
    error: str,
    since: datetime,
    data_from: datetime | None,
    zone: str,
    t: Translator = EN,
) -> str:
    """Said once when the pager stops answering for a team."""
    if data_from:
        cached = t("showing data from {when}", when=local_time(data_from, zone, t))
    else:
        cached = t("no cached data yet")
    return t(
        ":warning: *{team}*: the pager is unreachable since {since} ({error}). "
        "I left @{usergroup} as it is; /oncall is {cached}.",
        team=escape(team),
        since=local_time(since, zone, t),
        error=_detail(error),
        usergroup=escape(usergroup),
        cached=cached,
    )


def pager_recovered(team: str, since: datetime, now: datetime, zone: str, t: Translator = EN) -> str:
    """Said once when the pager answers again."""
    return t(
        ":white_check_mark: *{team}*: the pager answers again (it was unreachable from {since} to {now}); "
        "on-call data is fresh.",
        team=escape(team),
        since=local_time(since, zone, t),
        now=local_time(now, zone, t),
    )


def nobody_on_call(team: str, usergroup: str, unmapped: list[str], t: Translator = EN) -> str:
    """Said once when nobody (mapped) is on call, so the group was left unchanged."""
    why = t("the pager says nobody is on call")
    if unmapped:
        names = fit_names([escape(p) for p in unmapped], PEOPLE_CHARS, sep=t(", "), more=more_names(t))
        why = t("nobody on call has a usable Slack account ({names})", names=names)
    return t(
        ":warning: *{team}*: {why}. Slack does not allow an empty user group, "
        "so I left @{usergroup} as it is. Check the pager's schedule.",
        team=escape(team),
        why=why,
        usergroup=escape(usergroup),
    )


def unmapped_person(team: str, pager_id: str, problem: str, t: Translator = EN) -> str:
    """Said once per person per shift when an on-call person cannot be put in the group."""
    if "@" not in pager_id:  # an account id (JSM hides the email): only a [people] line reaches Slack
        fix = t(
            'Fix it by adding `"{pager_id}" = "U…"` (their Slack member ID) '
            "under `[people]` in the teams file.",
            pager_id=_detail(pager_id),
        )
    else:
        fix = t(
            "Fix it by adding them to `[people]` in the teams file (pager email → Slack user ID), or by "
            "using the same email in the pager and in Slack."
        )
    return t(
        ":warning: *{team}*: {pager_id} is on call but {problem}, so they are not in the user group. {fix}",
        team=escape(team),
        pager_id=_detail(pager_id),
        problem=_detail(t(problem)),  # the bot's own reasons are message ids
        fix=fix,
    )


def sync_failed(team: str, usergroup: str, sentence: str, t: Translator = EN) -> str:
    """Said once per problem when Slack refuses the usergroup update."""
    return t(
        ":x: *{team}*: I could not update @{usergroup}: {sentence}.",
        team=escape(team),
        usergroup=escape(usergroup),
        sentence=_detail(sentence),
    )


def _detail(text: str) -> str:
    """Pager or Slack text, escaped and short enough that the notice stays one section."""
    return truncate(escape(text), DETAIL_CHARS)


def needs_admin(team: str, sentence: str, t: Translator = EN) -> str:
    """Said once when the team's setup broke in a way only an admin can fix."""
    return t(
        ":rotating_light: *{team}*: {sentence}. An admin must fix this; "
        "until then this team is not kept in sync.",
        team=escape(team),
        sentence=_detail(sentence),
    )
