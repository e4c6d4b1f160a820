"""The acknowledged handover: an incoming person presses "Got it" in their handover DM.

A press is recorded once per (team, shift start, person), a unique key in ``handover_acks``, so a
double-click or a second replica changes nothing. The first press replaces the button in the pressed
message by when it was pressed, and the channel post then says who has it ("✓ @alice has it"). Anyone
who was not handed the shift is answered privately and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import Team
from app.model.buttons import GOT_IT_ACTION, GotItDone, parse_got_it
from app.model.messages import GotItRefused, GotItWhy, HandoverPost
from app.runtime import Runtime
from app.services import handover_plan
from app.services.handover_plan import Planned
from app.services.handover_view import gather
from app.services.presses import Press
from app.services.roster import HISTORY
from app.services.slack_users import cached_language
from app.store import repo
from app.store.db import reading
from app.store.models import Handover, HandoverAck, Notice

log = logging.getLogger(__name__)

DM_KIND = "handover_dm"  # the notices kind of the handover DM (services/handover.py)
UPDATES = 3  # how often the post is redrawn when presses of several people cross


def _key_prefix(start: datetime) -> str:
    return f"{start.isoformat()}|"


def handed_to(runtime: Runtime, team: str, start: datetime) -> list[str]:
    """The Slack users whose handover DM for the shift at ``start`` was posted, in key order."""
    with reading(runtime.sessions) as session:
        return handed_to_in(session, team, start)


def handed_to_in(session: Session, team: str, start: datetime) -> list[str]:
    """``handed_to``, read in ``session``."""
    prefix = _key_prefix(start)
    keys = session.scalars(
        select(Notice.key)
        .where(Notice.team == team, Notice.kind == DM_KIND, Notice.status == "posted")
        .where(Notice.key.startswith(prefix, autoescape=True))
        .order_by(Notice.key)
    )
    return [key.removeprefix(prefix) for key in keys]


def acked_by(runtime: Runtime, team: str, start: datetime) -> list[str]:
    """Who pressed "Got it" for the shift at ``start``, in the order they did."""
    with reading(runtime.sessions) as session:
        return acked_by_in(session, team, start)


def acked_by_in(session: Session, team: str, start: datetime) -> list[str]:
    """``acked_by``, read in ``session``."""
    return list(
        session.scalars(
            select(HandoverAck.user_id)
            .where(HandoverAck.team == team, HandoverAck.shift_start == start)
            .order_by(HandoverAck.acked_at, HandoverAck.id)
        )
    )


def _language(runtime: Runtime, press: Press, team: Team | None) -> str:
    """The presser's Slack language, from the cache (a press must not wait), else the team's."""
    fallback = team.language if team is not None else runtime.config.language
    return cached_language(runtime, press.user, fallback)


def _tell(
    runtime: Runtime, press: Press, team: Team | None, why: GotItWhy, incoming: Sequence[str] = ()
) -> None:
    """A private answer to the presser, where they pressed, in their language."""
    text = runtime.slack.fallback_text(GotItRefused(why, tuple(incoming), _language(runtime, press, team)))
    runtime.slack.try_ephemeral(press.channel, press.user, text=text)


def _posted(runtime: Runtime, team: str, start: datetime) -> Handover | None:
    with reading(runtime.sessions) as session:
        row = session.scalars(
            select(Handover).where(Handover.team == team, Handover.shift_start == start)
        ).first()
        if row is not None:
            session.expunge(row)
    return row if row is not None and row.status == "posted" and row.message_ts else None


def _planned(runtime: Runtime, team: Team, row: Handover) -> Planned:
    """The handover as posted: from the plan when it still has it, else from what the row recorded."""
    with reading(runtime.sessions) as session:
        planned = handover_plan.at_start(session, team, row.shift_start)
    if planned is not None:
        return planned
    start = row.shift_start
    return Planned(start, None, start - HISTORY, tuple(row.outgoing), tuple(row.incoming))


def redraw_post(runtime: Runtime, team: Team, row: Handover) -> None:
    """Redraw the channel post with who has it; again when another press landed meanwhile."""
    planned = _planned(runtime, team, row)
    with reading(runtime.sessions) as session:
        view = gather(session, runtime.config, team, planned, row.created_at)
    shown: list[str] | None = None
    for _ in range(UPDATES):
        ackers = acked_by(runtime, team.name, row.shift_start)
        if ackers == shown:
            return
        post = HandoverPost(replace(view, late=row.late), team.language, tuple(ackers))
        if not runtime.slack.try_update(row.channel or team.channel, row.message_ts or "", post):
            return
        shown = ackers


def handle_press(runtime: Runtime, press: Press, now: datetime) -> None:
    """Record a "Got it" press once and show it; anyone else hears privately that nothing changed."""
    if press.action_id != GOT_IT_ACTION:
        return
    parsed = parse_got_it(press.value)
    team = runtime.config.team(parsed[0]) if parsed else None
    row = _posted(runtime, team.name, parsed[1]) if team is not None and parsed else None
    if team is None or row is None:
        _tell(runtime, press, team, "unknown")
        return
    incoming = handed_to(runtime, team.name, row.shift_start)
    if press.user not in incoming:
        _tell(runtime, press, team, "not_yours", incoming)
        log.info("%s handover of %s: %s pressed Got it, not theirs", team.name, row.shift_start, press.user)
        return
    values = {"team": team.name, "shift_start": row.shift_start, "user_id": press.user, "acked_at": now}
    with runtime.sessions.begin() as session:
        first = repo.insert_ignoring_duplicates(session, HandoverAck, values)
    if not first:
        _tell(runtime, press, team, "again")
        return
    log.info("%s handover of %s: %s has it", team.name, row.shift_start.isoformat(), press.user)
    done = GotItDone(press.blocks, now, team.timezone, _language(runtime, press, team))  # the DM's reader
    runtime.slack.try_update(press.channel, press.message_ts, done)
    redraw_post(runtime, team, row)
