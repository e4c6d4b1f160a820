"""Render any message value of ``app.model.messages`` into its chat.postMessage payload (text + blocks).

The one place that knows which pure renderer draws which message; the gateway calls it before sending.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.model import messages as m
from app.model.buttons import PressDone
from app.model.oncall import UserZone
from app.slack import escalation_blocks as esc
from app.slack import escalation_buttons as buttons
from app.slack import escalation_dm_blocks as dms
from app.slack import handover_blocks as hand
from app.slack import notice_text as notice
from app.slack.blocks import section
from app.slack.oncall_blocks import now_answer

Payload = dict[str, Any]


def _notice(text: str) -> Payload:
    return {"text": text, "blocks": [section(text)]}


def _reply(r: m.EscalationReply) -> Payload:
    people = list(r.people) if r.people is not None else None
    return esc.escalation_reply(
        r.team,
        people,
        reporter=r.reporter,
        outcome=r.outcome,
        pager=r.pager,
        priority=r.priority,
        as_of=r.as_of,
        now=r.now,
        limit=r.limit,
    )


def _with_buttons(w: m.WithButtons) -> Payload:
    payload = render(w.message)
    return {**payload, "blocks": [*(payload.get("blocks") or []), buttons.actions(w.buttons)]}


_RENDERERS: dict[type[Any], Callable[[Any], Payload]] = {
    # notices in a team channel: one section of text
    m.PagerUnreachable: lambda n: _notice(
        notice.pager_unreachable(n.team, n.usergroup, n.error, n.since, n.data_from, n.zone)
    ),
    m.PagerRecovered: lambda n: _notice(notice.pager_recovered(n.team, n.since, n.now, n.zone)),
    m.NobodyOnCall: lambda n: _notice(notice.nobody_on_call(n.team, n.usergroup, list(n.unmapped))),
    m.UnmappedPerson: lambda n: _notice(notice.unmapped_person(n.team, n.pager_id, n.problem)),
    m.SyncFailed: lambda n: _notice(notice.sync_failed(n.team, n.usergroup, n.sentence)),
    m.NeedsAdmin: lambda n: _notice(notice.needs_admin(n.team, n.sentence)),
    # the handover
    m.HandoverPost: lambda h: hand.handover_message(h.view),
    m.IncomingDm: lambda h: hand.incoming_dm(h.view),
    m.IdentityWarning: lambda w: hand.identity_notice(w.team, w.zone, w.shift_start, list(w.problems)),
    m.ShiftChange: lambda c: hand.shift_change_notice(
        c.team, c.zone, c.start, c.end, list(c.before), list(c.after)
    ),
    # escalation
    m.EscalationReply: _reply,
    m.PageConfirmed: lambda p: esc.page_confirmed(p.alert_id, pager=p.pager, url=p.url),
    m.PageUnconfirmed: lambda p: esc.page_unconfirmed(p.reason, p.request_id, pager=p.pager),
    m.PageFailed: lambda p: esc.page_failed(p.reason, pager=p.pager),
    m.MentionUsage: lambda u: esc.usage(list(u.team_names)),
    m.MentionUnknownTeam: lambda u: esc.unknown_team(u.word, list(u.team_names)),
    m.EscalationDm: lambda d: dms.escalation_dm(
        d.team, d.reporter, d.text, priority=d.priority, channel=d.channel, permalink=d.permalink
    ),
    m.DmsSent: lambda d: dms.dms_sent(list(d.user_ids), d.problems),
    m.DmsFailed: lambda d: dms.dms_failed(d.reason),
    m.CourtesyReply: lambda _: esc.courtesy_reply(),
    m.WhoReply: lambda w: esc.who_reply(
        now_answer(list(w.teams), UserZone(w.zone, known=False), w.now, w.source), w.zone
    ),
    m.FollowUpReply: lambda f: esc.follow_up_reply(
        f.status, pager=f.pager, alert_id=f.alert_id, url=f.url, notes=f.notes
    ),
    # the escalation's buttons, and what a press leaves in the message
    m.WithButtons: _with_buttons,
    PressDone: buttons.press_done,
}


def render(message: m.Message) -> Payload:
    """The chat.postMessage ``text`` (the notification fallback) and ``blocks`` of ``message``."""
    renderer = _RENDERERS.get(type(message))
    if renderer is None:
        raise TypeError(f"no renderer for {type(message).__name__}")
    return renderer(message)


def plain_text(message: m.Message) -> str:
    """``message`` as plain lines (its blocks flattened): what the CLI prints."""
    return hand.message_text(render(message))
