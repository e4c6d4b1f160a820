"""Pure renderers for the handover post, the incoming person's DM and the pre-handover notices."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from app.i18n import EN, Translator
from app.model.handover import EscalationView, HandoverView, UsergroupView
from app.model.person import Person
from app.slack.blocks import Blocks, context, escape, more_names, section
from app.slack.limits import TEXT_CHARS, fit_names, header, truncate
from app.slack.person_notices import DASH, PEOPLE_CHARS, fix, more_items, people, reason
from app.slack.words import when

OPEN_LISTED = 10  # open escalations listed one by one; the rest are counted
QUOTE_CHARS = 80
DETAIL_CHARS = 500  # an error detail from Slack or the pager


def bullets(head: str, lines: Sequence[str], more: Callable[[int], str], most: int | None = None) -> str:
    """``head`` and as many whole lines as fit one section (at most ``most``), then ``more(left out)``."""
    return fit_names(
        list(lines), TEXT_CHARS, prefix=f"{head}\n", sep="\n", pointer_sep="\n", more=more, max_items=most
    )


def _more_open(t: Translator) -> Callable[[int], str]:
    return lambda count: t.ngettext("…and {n} more open", "…and {n} more open", count)


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    short = flat[:QUOTE_CHARS] + ("…" if len(flat) > QUOTE_CHARS else "")
    return escape(short)


def _escalation_line(item: EscalationView, zone: str, t: Translator) -> str:
    stamp = when(item.created_at, zone, t)
    if item.permalink:
        where = f"<{item.permalink}|{stamp}>"
    else:
        where = t(
            "{when} in {channel} (thread {ts})",
            when=stamp,
            channel="<#" + item.channel + ">",
            ts=item.thread_ts,
        )
    return t(
        "• {where} from {user}: “{quote}”",
        where=where,
        user="<@" + item.user_id + ">",
        quote=_quote(item.text),
    )


def escalations_text(items: Sequence[EscalationView], zone: str, t: Translator = EN) -> str:
    """The escalations section: count, then each still-open one with its thread."""
    if not items:
        return t("*Escalations last shift:* none")
    still_open = [i for i in items if i.open]
    head = t("*Escalations last shift:* {count} ({open} still open)", count=len(items), open=len(still_open))
    return _open_list(head, still_open, zone, t) if still_open else head


def _open_list(head: str, still_open: Sequence[EscalationView], zone: str, t: Translator) -> str:
    """Up to OPEN_LISTED open escalations, whole lines only, then how many more are open."""
    return bullets(head, [_escalation_line(i, zone, t) for i in still_open], _more_open(t), OPEN_LISTED)


def _group_name(handle: str) -> str:
    # An S… id rendered as <!subteam^…> would ping the whole group; show it as plain text instead.
    return escape(handle) if handle.startswith("S") and handle.isupper() else f"@{escape(handle)}"


def usergroup_text(
    group: UsergroupView, zone: str, incoming: Sequence[Person] = (), t: Translator = EN
) -> str:
    """The usergroup's state after its latest sync, and whether it still has to follow the new shift."""
    name = _group_name(group.handle)
    if group.result is None or group.at is None:
        return t("*Usergroup:* {group} has not been synced yet", group=name)
    if group.result == "failed":
        detail = truncate(escape(group.detail or t("no detail")), DETAIL_CHARS)
        return t(
            "*Usergroup:* {group}: the last sync failed ({when}): {detail}",
            group=name,
            when=when(group.at, zone, t),
            detail=detail,
        )
    listed = [f"<@{m}>" for m in group.members]
    members = fit_names(listed, PEOPLE_CHARS, sep=t(", "), more=more_names(t)) or t("nobody")
    text = t(
        "*Usergroup:* {group} → {members} (checked {when})",
        group=name,
        members=members,
        when=when(group.at, zone, t),
    )
    wanted = {p.slack_user_id for p in incoming}
    if incoming and all(p.mapped for p in incoming) and wanted != set(group.members):
        text += t("; it moves to the new shift at the next refresh")
    return text


def attention_items(view: HandoverView, t: Translator = EN) -> list[str]:
    """What needs a human: unmapped people, nobody incoming, stale pager data."""
    items: list[str] = []
    seen: set[str] = set()
    for person in (*view.incoming, *view.outgoing):
        if person.mapped or person.pager_id in seen:
            continue
        seen.add(person.pager_id)
        remedy = (
            fix(person, t)
            if person.status == "no_email"
            else t("map it under `[people]` in the bot's config or fix the email in the pager")
        )
        items.append(
            t("{who}: {reason}; {fix}", who=escape(person.pager_id), reason=reason(person, t), fix=remedy)
        )
    if not view.incoming:
        items.append(t("Nobody is on call in the new shift: check the schedule in the pager"))
    if view.stale:
        error = f" ({truncate(escape(view.last_error), DETAIL_CHARS)})" if view.last_error else ""
        if view.last_success_at:
            read = when(view.last_success_at, view.zone, t)
            items.append(
                t(
                    "The pager was last read {when}{error}: who is on call may be out of date",
                    when=read,
                    error=error,
                )
            )
        else:
            items.append(
                t("The pager has not been read yet{error}: who is on call may be out of date", error=error)
            )
    return items


def _hands_over(outgoing: Sequence[Person], incoming: Sequence[Person], t: Translator) -> str:
    if {p.pager_id for p in outgoing} == {p.pager_id for p in incoming} and incoming:
        return t("{people} stays on call", people=people(incoming, t))
    return f"{people(outgoing, t)} → {people(incoming, t)}"


def _headline(view: HandoverView, t: Translator) -> str:
    if len(view.layers) > 1:  # who hands over to whom on which layer (primary, secondary, ...)
        return "\n".join(
            t(
                "*{layer}:* {handover}",
                layer=escape(layer.name),
                handover=_hands_over(layer.outgoing, layer.incoming, t),
            )
            for layer in view.layers
        )
    return _hands_over(view.outgoing, view.incoming, t)


def _window(view: HandoverView, t: Translator) -> str:
    if view.end is None:  # the shift lasts beyond the timeline the pager gave so far
        return t("from {start} on ({zone})", start=when(view.start, view.zone, t), zone=escape(view.zone))
    return f"{when(view.start, view.zone, t)} {DASH} {when(view.end, view.zone, t)} ({escape(view.zone)})"


def handover_message(view: HandoverView, t: Translator = EN) -> dict[str, Any]:
    """The handover post: text fallback and blocks."""
    blocks: Blocks = [
        header(t("On-call handover: {team}", team=view.team)),
        section(t("{headline}\n*Shift:* {window}", headline=_headline(view, t), window=_window(view, t))),
    ]
    if view.pager_change is not None:
        blocks.append(
            context(
                t(
                    "The pager changes shift at {change}, not at the handover time {start}.",
                    change=when(view.pager_change, view.zone, t),
                    start=when(view.start, view.zone, t),
                )
            )
        )
    if view.late:
        blocks.append(
            context(t("Posted late: I was not running at {start}.", start=when(view.start, view.zone, t)))
        )
    blocks.append(section(escalations_text(view.escalations, view.zone, t)))
    blocks.append(section(usergroup_text(view.usergroup, view.zone, view.incoming, t)))
    items = attention_items(view, t)
    if items:
        blocks.append(
            section(bullets(t("*Needs attention*"), [f"• {item}" for item in items], more_items(t)))
        )
    text = t(
        "On-call handover for {team}: {headline}, {window}",
        team=view.team,
        headline=_headline(view, t),
        window=_window(view, t),
    )
    return {"text": text, "blocks": blocks}


def incoming_dm(view: HandoverView, t: Translator = EN) -> dict[str, Any]:
    """The DM to an incoming person: their window and what is still open."""
    if view.end is None:  # the shift lasts beyond the timeline the pager gave so far
        span = t("from {start} on ({zone})", start=when(view.start, view.zone, t), zone=escape(view.zone))
    else:
        span = t(
            "from {start} to {end} ({zone})",
            start=when(view.start, view.zone, t),
            end=when(view.end, view.zone, t),
            zone=escape(view.zone),
        )
    head = t("You are on call for *{team}* {span}.", team=escape(view.team), span=span)
    still_open = [i for i in view.escalations if i.open]
    blocks: Blocks = [section(head)]
    if still_open:
        blocks.append(section(_open_list(t("*Still open from the last shift:*"), still_open, view.zone, t)))
    else:
        blocks.append(section(t("Nothing is open from the last shift.")))
    plain = t(
        "You are on call for {team} {span}. Still open: {open}.",
        team=view.team,
        span=span,
        open=len(still_open),
    )
    return {"text": plain, "blocks": blocks}
