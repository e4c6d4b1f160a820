"""Pure renderers for the escalation thread: domain values in, message payloads out. No I/O here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from app.slack.blocks import Blocks, ago, context, escape, plain, section, teams_line
from app.slack.limits import fit_names

Message = dict[str, Any]
# A person on call: the pager's identity (an email) and the Slack user it maps to, None when unmapped.
Person = tuple[str, str | None]
# dm: the team has no pager to call; offer: a paging team's mention that did not ask to page
Outcome = Literal["tag", "page", "dm", "limited", "offer"]

_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
EXAMPLE = "@oncall-bot the revenue dashboard is empty since 9:00"
PEOPLE_CHARS = 1_500  # the people tagged in one reply; more are counted, not listed


def message(text: str, blocks: Blocks) -> Message:
    """A chat.postMessage payload: blocks plus the plain fallback used by notifications."""
    return {"text": text, "blocks": blocks}


def mention(user_id: str | None) -> str:
    """``<@U…>`` for a well-formed Slack user id; anything else is escaped so it cannot ping."""
    if user_id and _SLACK_ID.match(user_id):
        return f"<@{user_id}>"
    return escape(user_id or "someone")


def people_text(people: Sequence[Person]) -> str:
    """The on-call people as mentions; an unmapped person by escaped email, saying why no ping."""
    parts = [
        mention(user_id) if user_id else f"{escape(email)} (no active Slack account, so not pinged)"
        for email, user_id in people
    ]
    if len(parts) <= 1:
        return parts[0] if parts else "nobody"
    if sum(len(part) + 2 for part in parts) > PEOPLE_CHARS:  # a crowd: whole names, then a count
        return fit_names(parts, PEOPLE_CHARS)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _next_step(
    team: str, outcome: Outcome, *, pager: str, priority: str, limit: int, tagged: bool = True
) -> str:
    if outcome == "page":
        return (
            f"*What happens next:* I am paging the *{team}* schedule in {pager} ({escape(priority)}). "
            "The page is pending; I will confirm in this thread once the alert exists."
        )
    if outcome == "dm":
        return (
            f"*What happens next:* the *{team}* team has no pager to call, so I am sending the on-call "
            "people a direct message with this message and a link here. I will say so in this thread."
        )
    if outcome in ("limited", "offer"):
        return _not_paged(team, outcome, pager=pager, limit=limit, tagged=tagged)
    if not tagged:
        return (
            f"*Nobody was tagged:* nobody on call has a Slack account I can tag. The *{team}* team does not "
            "page from Slack: reach them directly if this cannot wait."
        )
    return (
        "*What happens next:* the on-call person picks this up in this thread. "
        f"The *{team}* team does not page from Slack, so if nobody answers and it cannot wait, call them."
    )


def _not_paged(team: str, outcome: Outcome, *, pager: str, limit: int, tagged: bool) -> str:
    """Why a paging team's mention was not paged, and what to do; never "tagged" when nobody was."""
    if outcome == "limited":
        reached = f"you have reached the limit of {limit} page{'s' if limit != 1 else ''} per person per hour"
        if not tagged:
            return (
                f"*Nobody was paged or tagged:* {reached}, and nobody on call has a Slack account I can tag. "
                f"If it is urgent, page the *{team}* team from {pager} directly."
            )
        return (
            f"*Not paged:* {reached}. The on-call people are tagged here; "
            f"if it is urgent, page them from {pager} directly."
        )
    if not tagged:
        return (
            "*Nobody was tagged and nothing was paged:* nobody on call has a Slack account I can tag. "
            f"If it cannot wait, page the *{team}* team: mention me with `page: …` or add `P1`…`P5`."
        )
    return (
        "*Not paged.* The on-call people are tagged here. If it cannot wait, page them: "
        "mention me with `page: …` or add `P1`…`P5`."
    )


def escalation_reply(
    team: str,
    people: Sequence[Person] | None,
    *,
    reporter: str,
    outcome: Outcome,
    pager: str,
    priority: str,
    as_of: datetime | None,
    now: datetime,
    limit: int = 0,
) -> Message:
    """The thread reply to a mention: who is on call (or that nobody is known yet) and what happens next.

    ``people`` None means the cache has never heard from the pager for this team.
    """
    name = escape(team)
    tagged = bool(people) and any(user_id for _, user_id in people or [])
    next_step = _next_step(name, outcome, pager=pager, priority=priority, limit=limit, tagged=tagged)
    asker = mention(reporter)
    if people is None:
        head = (
            f"{asker} needs the *{name}* on-call person, but I do not know yet who that is: "
            f"{pager} has not told me about this team since I started."
        )
        if outcome in ("tag", "offer"):
            next_step = f"*Nobody was tagged.* Reach the *{name}* team directly if this cannot wait."
        blocks = [section(head), section(next_step)]
        return message(f"No on-call data yet for {name}. " + _plain_next(outcome, pager), blocks)
    if not people:
        head = f"{asker} needs the *{name}* on-call person, but {pager} lists nobody on call right now."
        fallback = f"Nobody is on call for {name}. "
    else:
        who = people_text(people)
        head = f":rotating_light: {who} — {asker} needs the *{name}* on-call person in this thread."
        fallback = f"{who} {'are' if len(people) > 1 else 'is'} on call for {name}. "
    blocks = [section(head), section(next_step)]
    if as_of is not None:
        blocks.append(context(f"On call for {name} according to {pager}, checked {ago(now - as_of)}."))
    return message(fallback + _plain_next(outcome, pager), blocks)


def _plain_next(outcome: Outcome, pager: str) -> str:
    if outcome == "page":
        return f"Paging through {pager} (pending)."
    if outcome == "dm":
        return "No pager: messaging the on-call people directly (pending)."
    if outcome == "limited":
        return "Not paged: page limit per hour reached."
    if outcome == "offer":
        return "Not paged; mention me with page: to page."
    return "This team does not page from Slack."


def page_confirmed(alert_id: str, *, pager: str, url: str | None = None) -> Message:
    """The thread confirmation once the pager has created the alert: a link to it where the pager has one."""
    text = f"Paged: {pager} alert {escape(alert_id)} created; the on-call people are being notified."
    shown = f"<{url}|{pager} alert {escape(alert_id)}>" if url else f"{pager} alert `{escape(alert_id)}`"
    return message(text, [section(f":white_check_mark: Paged: {shown} created.")])


def page_failed(reason: str, *, pager: str) -> Message:
    """The thread notice when the pager refused the alert for good (not a temporary outage)."""
    text = f"Could not page through {pager}: {escape(plain(reason, 300))}"
    blocks = [
        section(f":warning: {text}"),
        context("The on-call people are tagged above; reach them directly."),
    ]
    return message(text, blocks)


def _team_example(team_names: Sequence[str]) -> str:
    return f"`@oncall-bot {escape(team_names[0]) if team_names else 'data'}: the nightly load failed`"


def usage(team_names: Sequence[str]) -> Message:
    """The short usage reply to an empty mention or ``help``."""
    lines = (
        "*Escalate to the person on call:* mention me with what is wrong, in the team's channel:\n"
        f"`{EXAMPLE}`\n"
        f"Elsewhere, start with the team: {_team_example(team_names)}. "
        "Add `P1`…`P5` to set the page's priority."
    )
    blocks = [section(lines)]
    if team_names:
        blocks.append(context(teams_line(team_names)))
    return message("How to escalate: mention me with what is wrong, e.g. " + EXAMPLE, blocks)


def unknown_team(word: str | None, team_names: Sequence[str]) -> Message:
    """The reply when no team could be told from the channel or the first word."""
    shown = escape(word[:40]) if word else None
    head = (
        f"I know no team called `{shown}`." if shown else "I cannot tell which team this is for."
    ) + f" Start with the team's name, e.g. {_team_example(team_names)}."
    blocks = [section(head)]
    if team_names:
        blocks.append(context(teams_line(team_names)))
    return message(head.replace("`", ""), blocks)


def page_unconfirmed(reason: str, request_id: str, *, pager: str) -> Message:
    """The thread notice when the pager accepted the page but never said whether the alert exists."""
    text = (
        f"The page was sent to {pager} (request {escape(request_id)}), but {pager} never confirmed it: "
        f"{escape(plain(reason, 300))}. The alert may exist and the on-call people may have been paged."
    )
    blocks = [
        section(f":grey_question: {text}"),
        context(f"Check {pager} for the alert before paging again; the on-call people are tagged above."),
    ]
    return message(text, blocks)


def courtesy_reply() -> Message:
    """The short answer to a thank-you: it tags nobody and pages nobody."""
    return message("You're welcome.", [section(":slightly_smiling_face: You're welcome.")])


def who_reply(answer: Message, zone: str) -> Message:
    """The ``/oncall`` answer posted in a thread: times in the team's zone, said as such."""
    blocks = list(answer.get("blocks", [])[:-1])  # the last block spoke of the asker's zone
    blocks.append(context(f"Times in {escape(zone)}, the team's time zone."))
    return message(str(answer.get("text") or "Who is on call"), blocks)


def follow_up_reply(
    status: str, *, pager: str, alert_id: str | None, url: str | None, notes: bool = False
) -> Message:
    """The answer to a mention inside an escalated thread: it joins that escalation, no second alert.

    ``notes``: the pager takes notes, so the message is added to the alert as one.
    """
    if alert_id:
        link = f"<{url}|{pager} alert {escape(alert_id)}>" if url else f"{pager} alert `{escape(alert_id)}`"
        noted = "I add it to the alert as a note" if notes else f"{pager} takes no notes from me"
        where = f"Added to this escalation ({link}); {noted}. No second alert was raised."
    elif status in ("pending", "requested"):
        where = f"Added to this escalation; its page through {pager} is on its way, no second alert."
    else:
        where = "Added to this escalation; the on-call people tagged above follow this thread."
    return message(where.replace("`", ""), [section(f":speech_balloon: {where}")])
