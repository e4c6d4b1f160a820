"""Pure renderers for the escalation thread: domain values in, message payloads out. No I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from app.i18n import EN, Translator
from app.model.person import Person
from app.slack.blocks import Blocks, ago, context, escape, more_names, section
from app.slack.limits import fit_names
from app.slack.words import mention

Message = dict[str, Any]
# dm: the team has no pager to call; offer: a paging team's mention that did not ask to page
Outcome = Literal["tag", "page", "dm", "limited", "offer"]

PEOPLE_CHARS = 1_500  # the people tagged in one reply; more are counted, not listed


def message(text: str, blocks: Blocks) -> Message:
    """A chat.postMessage payload: blocks plus the plain fallback used by notifications."""
    return {"text": text, "blocks": blocks}


def people_text(people: Sequence[Person], t: Translator = EN) -> str:
    """The on-call people as mentions; an unmapped person by escaped email, saying why no ping."""
    parts = [
        mention(p.slack_user_id, t)
        if p.mapped and p.slack_user_id
        else t("{email} (no active Slack account, so not pinged)", email=escape(p.pager_id))
        for p in people
    ]
    if len(parts) <= 1:
        return parts[0] if parts else t("nobody")
    if sum(len(part) + 2 for part in parts) > PEOPLE_CHARS:  # a crowd: whole names, then a count
        return fit_names(parts, PEOPLE_CHARS, sep=t(", "), more=more_names(t))
    return t("{names} and {last}", names=t(", ").join(parts[:-1]), last=parts[-1])


def _next_step(
    team: str,
    outcome: Outcome,
    *,
    pager: str,
    priority: str,
    limit: int,
    tagged: bool = True,
    t: Translator = EN,
) -> str:
    if outcome == "page":
        return t(
            "*What happens next:* I am paging the *{team}* schedule in {pager} ({priority}). "
            "The page is pending; I will confirm in this thread once the alert exists.",
            team=team,
            pager=pager,
            priority=escape(priority),
        )
    if outcome == "dm":
        return t(
            "*What happens next:* the *{team}* team has no pager to call, so I am sending the on-call "
            "people a direct message with this message and a link here. I will say so in this thread.",
            team=team,
        )
    if outcome in ("limited", "offer"):
        return _not_paged(team, outcome, pager=pager, limit=limit, tagged=tagged, t=t)
    if not tagged:
        return t(
            "*Nobody was tagged:* nobody on call has a Slack account I can tag. The *{team}* team does not "
            "page from Slack: reach them directly if this cannot wait.",
            team=team,
        )
    return t(
        "*What happens next:* the on-call person picks this up in this thread. "
        "The *{team}* team does not page from Slack, so if nobody answers and it cannot wait, call them.",
        team=team,
    )


def _not_paged(team: str, outcome: Outcome, *, pager: str, limit: int, tagged: bool, t: Translator) -> str:
    """Why a paging team's mention was not paged, and what to do; never "tagged" when nobody was."""
    if outcome == "limited":
        reached = t.ngettext(
            "you have reached the limit of {n} page per person per hour",
            "you have reached the limit of {n} pages per person per hour",
            limit,
        )
        if not tagged:
            return t(
                "*Nobody was paged or tagged:* {reached}, and nobody on call has a Slack account I can tag. "
                "If it is urgent, page the *{team}* team from {pager} directly.",
                reached=reached,
                team=team,
                pager=pager,
            )
        return t(
            "*Not paged:* {reached}. The on-call people are tagged here; "
            "if it is urgent, page them from {pager} directly.",
            reached=reached,
            pager=pager,
        )
    if not tagged:
        return t(
            "*Nobody was tagged and nothing was paged:* nobody on call has a Slack account I can tag. "
            "If it cannot wait, page the *{team}* team: mention me with `page: …` or add `P1`…`P5`.",
            team=team,
        )
    return t(
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
    t: Translator = EN,
) -> Message:
    """The thread reply to a mention: who is on call (or that nobody is known yet) and what happens next.

    ``people`` None means the cache has never heard from the pager for this team.
    """
    name = escape(team)
    tagged = any(p.mapped for p in people or ())
    next_step = _next_step(name, outcome, pager=pager, priority=priority, limit=limit, tagged=tagged, t=t)
    asker = mention(reporter, t)
    if people is None:
        head = t(
            "{asker} needs the *{team}* on-call person, but I do not know yet who that is: "
            "{pager} has not told me about this team since I started.",
            asker=asker,
            team=name,
            pager=pager,
        )
        if outcome in ("tag", "offer"):
            next_step = t(
                "*Nobody was tagged.* Reach the *{team}* team directly if this cannot wait.", team=name
            )
        blocks = [section(head), section(next_step)]
        fallback = t("No on-call data yet for {team}. ", team=name)
        return message(fallback + _plain_next(outcome, pager, t), blocks)
    if not people:
        head = t(
            "{asker} needs the *{team}* on-call person, but {pager} lists nobody on call right now.",
            asker=asker,
            team=name,
            pager=pager,
        )
        fallback = t("Nobody is on call for {team}. ", team=name)
    else:
        who = people_text(people, t)
        head = t(
            ":rotating_light: {who} — {asker} needs the *{team}* on-call person in this thread.",
            who=who,
            asker=asker,
            team=name,
        )
        fallback = t.ngettext(
            "{who} is on call for {team}. ", "{who} are on call for {team}. ", len(people), who=who, team=name
        )
    blocks = [section(head), section(next_step)]
    if as_of is not None:
        checked = ago(now - as_of, t)
        blocks.append(
            context(
                t(
                    "On call for {team} according to {pager}, checked {ago}.",
                    team=name,
                    pager=pager,
                    ago=checked,
                )
            )
        )
    return message(fallback + _plain_next(outcome, pager, t), blocks)


def _plain_next(outcome: Outcome, pager: str, t: Translator) -> str:
    if outcome == "page":
        return t("Paging through {pager} (pending).", pager=pager)
    if outcome == "dm":
        return t("No pager: messaging the on-call people directly (pending).")
    if outcome == "limited":
        return t("Not paged: page limit per hour reached.")
    if outcome == "offer":
        return t("Not paged; mention me with page: to page.")
    return t("This team does not page from Slack.")
