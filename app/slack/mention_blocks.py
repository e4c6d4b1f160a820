"""Pure renderers of the answers to a mention that raise no new escalation: how to escalate, an unknown
team, thanks, "who is on call?" in the thread, and a follow-up that joins the thread's escalation."""

from __future__ import annotations

from collections.abc import Sequence

from app.i18n import EN, N_, Translator
from app.slack.blocks import context, escape, section, teams_line
from app.slack.escalation_blocks import Message, message
from app.slack.page_blocks import alert_link

# TRANSLATORS: an example mention; translate the words after "@oncall-bot", keep the handle.
EXAMPLE = N_("@oncall-bot the revenue dashboard is empty since 9:00")


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
