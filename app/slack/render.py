"""Render any message value of ``app.model.messages`` into its chat.postMessage payload (text + blocks).

The one place that knows which pure renderer draws which message; the gateway calls it before sending.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.i18n import Translator, translator
from app.model import messages as m
from app.model.buttons import GotItDone, PressDone
from app.model.oncall import UserZone
from app.slack import escalation_blocks as esc
from app.slack import escalation_buttons as buttons
from app.slack import escalation_dm_blocks as dms
from app.slack import mention_blocks as mention
from app.slack import notice_text as notice
from app.slack import page_blocks as page
from app.slack import person_notices as notices
from app.slack import shift_blocks as shifts
from app.slack.blocks import message_text, section
from app.slack.oncall_blocks import now_answer

Payload = dict[str, Any]
Renderer = Callable[[Any, Translator], Payload]


def _notice(text: str) -> Payload:
    return {"text": text, "blocks": [section(text)]}


def _reply(r: m.EscalationReply, t: Translator) -> Payload:
    people = list(r.people) if r.people is not None else None
    return esc.escalation_reply(
        r.team,
        people,
        reporter=r.reporter,
        outcome=r.outcome,
        pager=t(r.pager),
        priority=r.priority,
        as_of=r.as_of,
        now=r.now,
        limit=r.limit,
        t=t,
    )


def _page_outcome(p: m.PageOutcome, t: Translator) -> Payload:
    pager = t(p.pager)
    if p.state == "confirmed":
        return page.page_confirmed(p.alert_id, pager=pager, url=p.url, t=t)
    if p.state == "unconfirmed":
        return page.page_unconfirmed(p.reason, p.request_id, pager=pager, t=t)
    return page.page_failed(p.reason, pager=pager, t=t)


def _with_buttons(w: m.WithButtons, t: Translator) -> Payload:
    payload = render(w.message)
    return {**payload, "blocks": [*(payload.get("blocks") or []), buttons.actions(w.buttons, t)]}


_RENDERERS: dict[type[Any], Renderer] = {
    # notices in a team channel: one section of text
    m.PagerUnreachable: lambda n, t: _notice(
        notice.pager_unreachable(n.team, n.usergroup, n.error, n.since, n.data_from, n.zone, t)
    ),
    m.PagerRecovered: lambda n, t: _notice(notice.pager_recovered(n.team, n.since, n.now, n.zone, t)),
    m.NobodyOnCall: lambda n, t: _notice(notice.nobody_on_call(n.team, n.usergroup, list(n.unmapped), t)),
    m.UnmappedPerson: lambda n, t: _notice(notice.unmapped_person(n.team, n.pager_id, n.problem, t)),
    m.SyncFailed: lambda n, t: _notice(notice.sync_failed(n.team, n.usergroup, n.sentence, t)),
    m.NeedsAdmin: lambda n, t: _notice(notice.needs_admin(n.team, n.sentence, t)),
    # the handover
    m.HandoverPost: shifts.handover_post,
    m.IncomingDm: shifts.incoming_dm,
    m.IdentityWarning: lambda w, t: notices.identity_notice(
        w.shift.team, w.shift.zone, w.shift.start, list(w.problems), t
    ),
    m.ShiftChange: lambda c, t: notices.shift_change_notice(
        c.shift.team, c.shift.zone, c.shift.start, c.end, list(c.before), list(c.after), t
    ),
    # shifts: the digest of changes, the reminder before one, the "Got it" and what follows it
    m.ShiftDigest: shifts.digest,
    m.ShiftReminder: lambda r, t: shifts.reminder(r.shift.team, r.shift.zone, r.shift.start, r.end, r.now, t),
    m.AckReminder: shifts.ack_reminder,
    m.AckMissing: shifts.ack_missing,
    m.GotItRefused: shifts.got_it_refused,
    GotItDone: shifts.got_it_done,
    # escalation
    m.EscalationReply: _reply,
    m.PageOutcome: _page_outcome,
    m.MentionUsage: lambda u, t: mention.usage(list(u.team_names), t),
    m.MentionUnknownTeam: lambda u, t: mention.unknown_team(u.word, list(u.team_names), t),
    m.EscalationDm: lambda d, t: dms.escalation_dm(
        d.team, d.reporter, d.text, priority=d.priority, channel=d.channel, permalink=d.permalink, t=t
    ),
    m.DmOutcome: lambda d, t: (
        dms.dms_sent(list(d.reached), d.problems, t) if d.reached else dms.dms_failed(d.problems or "", t)
    ),
    m.CourtesyReply: lambda _, t: mention.courtesy_reply(t),
    m.WhoReply: lambda w, t: mention.who_reply(
        now_answer(list(w.teams), UserZone(w.zone, known=False), w.now, w.source, t), w.zone, t
    ),
    m.FollowUpReply: lambda f, t: mention.follow_up_reply(
        f.status, pager=t(f.pager), alert_id=f.alert_id, url=f.url, notes=f.notes, t=t
    ),
    # the escalation's buttons, and what a press leaves in the message
    m.WithButtons: _with_buttons,
    PressDone: buttons.press_done,
    m.AlertChangedAtPager: lambda c, t: buttons.changed_at_pager(render(c.outcome), c, t),
}


def language_of(message: m.Message) -> str:
    """The language ``message`` is written in (a message with buttons: its own message's)."""
    return language_of(message.message) if isinstance(message, m.WithButtons) else message.language


def render(message: m.Message) -> Payload:
    """The chat.postMessage ``text`` (the notification fallback) and ``blocks`` of ``message``."""
    renderer = _RENDERERS.get(type(message))
    if renderer is None:
        raise TypeError(f"no renderer for {type(message).__name__}")
    return renderer(message, translator(language_of(message)))


def payload(message: m.Message) -> tuple[str, list[dict[str, Any]] | None]:
    """``message`` rendered as chat.postMessage's ``text`` and ``blocks``."""
    rendered = render(message)
    return str(rendered["text"]), rendered.get("blocks")


def plain_text(message: m.Message) -> str:
    """``message`` as plain lines (its blocks flattened): what the CLI prints."""
    return message_text(render(message))
