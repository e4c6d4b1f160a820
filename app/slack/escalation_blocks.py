"""Pure renderers for the escalation thread: domain values in, message payloads out. No I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from app.i18n import EN, N_, Translator
from app.slack.blocks import Blocks, ago, context, escape, more_names, plain, section, teams_line
from app.slack.limits import fit_names
from app.slack.words import mention

Message = dict[str, Any]
# A person on call: the pager's identity (an email) and the Slack user it maps to, None when unmapped.
Person = tuple[str, str | None]
# dm: the team has no pager to call; offer: a paging team's mention that did not ask to page
Outcome = Literal["tag", "page", "dm", "limited", "offer"]

# TRANSLATORS: an example mention; translate the words after "@oncall-bot", keep the handle.
EXAMPLE = N_("@oncall-bot the revenue dashboard is empty since 9:00")
PEOPLE_CHARS = 1_500  # the people tagged in one reply; more are counted, not listed


def message(text: str, blocks: Blocks) -> Message:
    """A chat.postMessage payload: blocks plus the plain fallback used by notifications."""
    return {"text": text, "blocks": blocks}


def people_text(people: Sequence[Person], t: Translator = EN) -> str:
    """The on-call people as mentions; an unmapped person by escaped email, saying why no ping."""
    parts = [
        mention(user_id, t)
        if user_id
        else t("{email} (no active Slack account, so not pinged)", email=escape(email))
        for email, user_id in people
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
    tagged = bool(people) and any(user_id for _, user_id in people or [])
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


def alert_link(alert_id: str, *, pager: str, url: str | None, t: Translator = EN) -> str:
    """``<url|Opsgenie alert 42>`` where the pager has a page for it, else the id as code."""
    if url:
        shown = t("{pager} alert {alert}", pager=pager, alert=escape(alert_id))
        return f"<{url}|{shown}>"
    code = f"`{escape(alert_id)}`"
    return t("{pager} alert {alert}", pager=pager, alert=code)


def page_confirmed(alert_id: str, *, pager: str, url: str | None = None, t: Translator = EN) -> Message:
    """The thread confirmation once the pager has created the alert: a link to it where the pager has one."""
    text = t(
        "Paged: {pager} alert {alert} created; the on-call people are being notified.",
        pager=pager,
        alert=escape(alert_id),
    )
    shown = alert_link(alert_id, pager=pager, url=url, t=t)
    return message(text, [section(t(":white_check_mark: Paged: {alert} created.", alert=shown))])


def page_failed(reason: str, *, pager: str, t: Translator = EN) -> Message:
    """The thread notice when the pager refused the alert for good (not a temporary outage)."""
    # The bot's own reasons are message ids (translated); a pager's or Slack's words stay as they said them.
    text = t("Could not page through {pager}: {reason}", pager=pager, reason=escape(plain(t(reason), 300)))
    blocks = [
        section(f":warning: {text}"),
        context(t("The on-call people are tagged above; reach them directly.")),
    ]
    return message(text, blocks)


def _team_example(team_names: Sequence[str], t: Translator) -> str:
    team = escape(team_names[0]) if team_names else "data"
    # TRANSLATORS: an example mention that starts with a team's name; keep "{team}:" first.
    return "`" + t("@oncall-bot {team}: the nightly load failed", team=team) + "`"


def usage(team_names: Sequence[str], t: Translator = EN) -> Message:
    """The short usage reply to an empty mention or ``help``."""
    lines = t(
        "*Escalate to the person on call:* mention me with what is wrong, in the team's channel:\n"
        "{example}\n"
        "Elsewhere, start with the team: {team_example}. "
        "Add `P1`…`P5` to set the page's priority.",
        example="`" + t(EXAMPLE) + "`",
        team_example=_team_example(team_names, t),
    )
    blocks = [section(lines)]
    if team_names:
        blocks.append(context(teams_line(team_names, t)))
    return message(
        t("How to escalate: mention me with what is wrong, e.g. {example}", example=t(EXAMPLE)), blocks
    )


def unknown_team(word: str | None, team_names: Sequence[str], t: Translator = EN) -> Message:
    """The reply when no team could be told from the channel or the first word."""
    shown = escape(word[:40]) if word else None
    example = _team_example(team_names, t)
    if shown:
        head = t(
            "I know no team called `{word}`. Start with the team's name, e.g. {example}.",
            word=shown,
            example=example,
        )
    else:
        head = t(
            "I cannot tell which team this is for. Start with the team's name, e.g. {example}.",
            example=example,
        )
    blocks = [section(head)]
    if team_names:
        blocks.append(context(teams_line(team_names, t)))
    return message(head.replace("`", ""), blocks)


def page_unconfirmed(reason: str, request_id: str, *, pager: str, t: Translator = EN) -> Message:
    """The thread notice when the pager accepted the page but never said whether the alert exists."""
    text = t(
        "The page was sent to {pager} (request {request}), but {pager} never confirmed it: "
        "{reason}. The alert may exist and the on-call people may have been paged.",
        pager=pager,
        request=escape(request_id),
        reason=escape(plain(t(reason), 300)),
    )
    blocks = [
        section(f":grey_question: {text}"),
        context(
            t(
                "Check {pager} for the alert before paging again; the on-call people are tagged above.",
                pager=pager,
            )
        ),
    ]
    return message(text, blocks)


def courtesy_reply(t: Translator = EN) -> Message:
    """The short answer to a thank-you: it tags nobody and pages nobody."""
    said = t("You're welcome.")
    return message(said, [section(f":slightly_smiling_face: {said}")])


def who_reply(answer: Message, zone: str, t: Translator = EN) -> Message:
    """The ``/oncall`` answer posted in a thread: times in the team's zone, said as such."""
    blocks = list(answer.get("blocks", [])[:-1])  # the last block spoke of the asker's zone
    blocks.append(context(t("Times in {zone}, the team's time zone.", zone=escape(zone))))
    return message(str(answer.get("text") or t("Who is on call")), blocks)


def follow_up_reply(
    status: str, *, pager: str, alert_id: str | None, url: str | None, notes: bool = False, t: Translator = EN
) -> Message:
    """The answer to a mention inside an escalated thread: it joins that escalation, no second alert.

    ``notes``: the pager takes notes, so the message is added to the alert as one.
    """
    if alert_id:
        link = alert_link(alert_id, pager=pager, url=url, t=t)
        if notes:
            where = t(
                "Added to this escalation ({link}); I add it to the alert as a note. "
                "No second alert was raised.",
                link=link,
            )
        else:
            where = t(
                "Added to this escalation ({link}); {pager} takes no notes from me. "
                "No second alert was raised.",
                link=link,
                pager=pager,
            )
    elif status in ("pending", "requested"):
        where = t(
            "Added to this escalation; its page through {pager} is on its way, no second alert.", pager=pager
        )
    else:
        where = t("Added to this escalation; the on-call people tagged above follow this thread.")
    return message(where.replace("`", ""), [section(f":speech_balloon: {where}")])
