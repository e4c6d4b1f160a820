"""What a handover shows, read from the cache: its people (per layer), the usergroup, the last shift's
escalations and how fresh the pager's data is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import Team
from app.model.handover import EscalationView, HandoverView, LayerView, UsergroupView
from app.oncall_config import OncallConfig
from app.services.freshness import state_is_stale
from app.services.handover_plan import Planned
from app.services.person_views import person_views
from app.store import repo
from app.store.models import Escalation, ShiftRow, TeamState, UsergroupSync


def _escalations(session: Session, team: str, start: datetime, end: datetime) -> tuple[EscalationView, ...]:
    rows = session.scalars(
        select(Escalation)
        .where(Escalation.team == team, Escalation.created_at >= start, Escalation.created_at < end)
        .order_by(Escalation.created_at, Escalation.id)
    )
    return tuple(
        EscalationView(
            r.created_at, r.channel, r.thread_ts, r.user_id, r.text, r.closed_at is None, r.permalink
        )
        for r in rows
    )


def _usergroup(session: Session, team: Team) -> UsergroupView:
    row = session.scalars(
        select(UsergroupSync)
        .where(UsergroupSync.team == team.name)
        .order_by(UsergroupSync.at.desc())
        .limit(1)
    ).first()
    if row is None:
        return UsergroupView(team.usergroup)
    return UsergroupView(team.usergroup, row.result, row.at, tuple(row.after), row.detail)


def gather(
    session: Session, config: OncallConfig, team: Team, planned: Planned, now: datetime
) -> HandoverView:
    """Read everything the handover ``planned`` of ``team`` shows from the cache."""
    outgoing, incoming = planned.outgoing, planned.incoming
    layered = [p for _, out, into in planned.layers for p in (*out, *into)]
    views = person_views(session, config, [*outgoing, *incoming, *layered])
    state = session.get(TeamState, team.name)
    success = state.last_success_at if state else None
    return HandoverView(
        team=team.name,
        zone=team.timezone,
        start=planned.start,
        end=planned.end,
        outgoing=tuple(views[p.lower()] for p in outgoing),
        incoming=tuple(views[p.lower()] for p in incoming),
        usergroup=_usergroup(session, team),
        escalations=_escalations(session, team.name, planned.since, planned.start),
        pager_change=planned.pager_change,
        stale=success is None or state_is_stale(state, now, config.refresh_minutes),
        last_success_at=success,
        last_error=state.last_error if state else None,
        layers=tuple(
            LayerView(name, tuple(views[p] for p in out), tuple(views[p] for p in into))
            for name, out, into in planned.layers
        ),
    )


def has_data(session: Session, team: str) -> bool:
    any_shift = session.scalars(select(ShiftRow.id).where(ShiftRow.team == team).limit(1)).first()
    return any_shift is not None or repo.latest_snapshot(session, team) is not None
