"""The handover: one post per (team, shift start), in the team's zone, exactly once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from app.chat import Key
from app.domain import Team
from app.model.buttons import got_it_value
from app.model.handover import EscalationView, HandoverView, LayerView, UsergroupView
from app.model.messages import HandoverPost, IncomingDm
from app.oncall_config import OncallConfig
from app.runtime import Runtime
from app.services import handover_plan
from app.services.freshness import state_is_stale
from app.services.handover_plan import Planned
from app.services.notices import say_notice
from app.services.once import Seen, State, peek, say_once
from app.services.person_views import person_views
from app.services.slack_users import language_for
from app.store import repo
from app.store.models import Escalation, Handover, ShiftRow, TeamState, UsergroupSync

log = logging.getLogger(__name__)

# already_posted: Slack has it (read back when in doubt); in_progress: another attempt is posting it now;
# unknown: Slack gave no answer and could not be read back yet: the next attempt reads back, then posts.
# none: nothing to hand over (handover off, no shift change yet, or the same people stay on call).
Status = Literal[
    "posted",
    "already_posted",
    "late",
    "skipped_too_old",
    "dry_run",
    "failed",
    "in_progress",
    "unknown",
    "none",
]
EVENT_TYPE = "oncall_handover"  # the metadata event type of the handover post

LATE_AFTER = timedelta(minutes=10)  # the cron job fires on time; later than this, a catch-up posted it
CATCH_UP_DELAY = timedelta(minutes=2)  # the hourly catch-up's first run waits for the first refresh


@dataclass(frozen=True)
class HandoverOutcome:
    """What one handover attempt did; ``text`` is the plain-text rendering for the CLI."""

    team: str
    shift_start: datetime | None  # None: the team has no handover to speak of (status "none")
    status: Status
    text: str = ""
    detail: str = ""


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


def _has_data(session: Session, team: str) -> bool:
    any_shift = session.scalars(select(ShiftRow.id).where(ShiftRow.team == team).limit(1)).first()
    return any_shift is not None or repo.latest_snapshot(session, team) is not None


def _key(team: Team, start: datetime) -> tuple[ColumnElement[bool], ...]:
    return (Handover.team == team.name, Handover.shift_start == start)


# Handover.status for each once-state; "unconfirmed" is what earlier versions left for an unknown outcome.
_STATUS: dict[State, str] = {
    "claimed": "claimed",
    "done": "posted",
    "refused": "failed",
    "unknown": "unknown",
}
_STATE: dict[str, State] = {v: k for k, v in _STATUS.items()} | {"unconfirmed": "unknown"}


@dataclass(frozen=True)
class HandoverLedger:
    """The handovers table: one row per (team, shift start), the once-key of the channel post."""

    team: Team
    view: HandoverView

    def _values(self, now: datetime) -> dict[str, object]:
        return {
            "created_at": now,
            "status": "claimed",
            "late": self.view.late,
            "outgoing": [p.pager_id for p in self.view.outgoing],
            "incoming": [p.pager_id for p in self.view.incoming],
            "channel": self.team.channel,
            "detail": None,
        }

    def claim(self, session: Session, now: datetime) -> bool:
        """Insert the (team, shift start) key as claimed."""
        values = {"team": self.team.name, "shift_start": self.view.start, **self._values(now)}
        return repo.insert_ignoring_duplicates(session, Handover, values)

    def seen(self, session: Session) -> Seen | None:
        """The handover's state ("skipped" counts as done: nothing is posted for it)."""
        row = _existing(session, self.team, self.view.start)
        if row is None:
            return None
        return Seen(_STATE.get(row.status, "done"), row.created_at, row.message_ts)

    def take(self, session: Session, seen: Seen, now: datetime) -> bool:
        """Claim it again unless another attempt moved it."""
        statuses = [s for s, state in _STATE.items() if state == seen.state]
        taken = session.execute(
            update(Handover)
            .where(
                *_key(self.team, self.view.start),
                Handover.status.in_(statuses),
                Handover.created_at == seen.since,
            )
            .values(**self._values(now))
        )
        return bool(getattr(taken, "rowcount", 0))

    def record(self, session: Session, state: State, now: datetime, ts: str | None, detail: str) -> None:
        """Store how the post went."""
        values: dict[str, object] = {"status": _STATUS[state], "detail": detail or None}
        if state == "done":
            values["message_ts"] = ts or None
        if state == "unknown":
            values["created_at"] = now
        session.execute(update(Handover).where(*_key(self.team, self.view.start)).values(**values))


def _existing(session: Session, team: Team, start: datetime) -> Handover | None:
    return session.scalars(select(Handover).where(*_key(team, start))).first()


def _too_old(
    runtime: Runtime, team: Team, start: datetime, now: datetime, *, dry_run: bool
) -> HandoverOutcome:
    grace = runtime.config.handover_grace_hours
    detail = f"more than {grace:g} h ago" + ("; a real run would not post it" if dry_run else "")
    with runtime.sessions.begin() as session:
        existing = _existing(session, team, start)
        if existing is not None and existing.status == "posted":
            return HandoverOutcome(team.name, start, "already_posted", detail="posted before")
        if dry_run:
            return HandoverOutcome(team.name, start, "skipped_too_old", detail=detail)
        values = {
            "team": team.name,
            "shift_start": start,
            "created_at": now,
            "status": "skipped",
            "outgoing": [],
            "incoming": [],
            "detail": f"missed by more than {grace:g} h",
        }
        inserted = repo.insert_ignoring_duplicates(session, Handover, values)
    if inserted:
        log.warning(
            "skipped the %s handover of %s: %s late, beyond the grace of %g h",
            team.name,
            start.isoformat(),
            now - start,
            grace,
        )
    return HandoverOutcome(team.name, start, "skipped_too_old", detail=detail)


def _dm_incoming(runtime: Runtime, view: HandoverView, now: datetime) -> list[str]:
    """Direct-message each incoming person once (their own once-key), whatever retries the channel post."""
    failures = []
    team_language = runtime.config.team_language(view.team)
    for person in view.incoming:
        if not person.mapped or person.slack_id is None:
            continue
        # A direct message speaks its reader's Slack language (asked for when not cached yet).
        language = language_for(runtime, person.slack_id, team_language)
        dm = IncomingDm(view, language, got_it_value(view.team, view.start))
        key = f"{view.start.isoformat()}|{person.slack_id}"
        outcome = say_notice(runtime, view.team, person.slack_id, "handover_dm", key, dm, now)
        if not outcome.said and outcome.result != "in_flight":
            failures.append(f"DM to {person.slack_id}: {outcome.result} ({outcome.detail})")
    for failure in failures:
        log.warning("%s handover: %s", view.team, failure)
    return failures


_BY_RESULT: dict[str, Status] = {
    "done": "already_posted",
    "in_flight": "in_progress",
    "refused": "failed",
    "unknown": "unknown",
}


def _post(runtime: Runtime, team: Team, view: HandoverView, text: str, now: datetime) -> HandoverOutcome:
    """Post the handover once (reading back any earlier attempt's outcome), then DM the incoming people."""
    keyed = Key(EVENT_TYPE, f"{team.name}|{view.start.isoformat()}")
    outcome = say_once(
        runtime,
        HandoverLedger(team, view),
        lambda: runtime.slack.post_once(team.channel, keyed, HandoverPost(view, team.language)),
        lambda oldest: runtime.slack.find_once(team.channel, keyed, oldest=oldest),
        now,
        what=f"the {team.name} handover of {view.start.isoformat()}",
    )
    if outcome.result not in ("posted", "found"):
        status = _BY_RESULT[outcome.result]
        return HandoverOutcome(team.name, view.start, status, text, outcome.detail)
    # A handover found posted by an earlier attempt may lack its DMs: their own keys say which.
    failures = _dm_incoming(runtime, view, now)
    when = view.start.isoformat()
    log.info("posted the %s handover of %s%s", team.name, when, " (late)" if view.late else "")
    status = "late" if view.late else "posted"
    detail = "; ".join([*([outcome.detail] if outcome.result == "found" else []), *failures])
    return HandoverOutcome(team.name, view.start, status, text, detail)


def _dry_run(runtime: Runtime, team: Team, view: HandoverView, text: str, now: datetime) -> HandoverOutcome:
    """What the real run would do, without writing or posting anything."""
    held = peek(runtime, HandoverLedger(team, view), now)
    if held is not None:
        return HandoverOutcome(team.name, view.start, _BY_RESULT[held.result], text, held.detail)
    return HandoverOutcome(team.name, view.start, "dry_run", text, "late" if view.late else "")


def run_handover(runtime: Runtime, team: Team, now: datetime, *, dry_run: bool = False) -> HandoverOutcome:
    """Post (or with ``dry_run`` only render) the team's latest handover at or before ``now``."""
    with runtime.sessions.begin() as session:
        planned = handover_plan.at_or_before(session, team, now)
        has_data = _has_data(session, team.name)
    if planned is None:
        why = "handover is off" if team.handover == "off" else "no shift change in the cached timeline yet"
        return HandoverOutcome(team.name, None, "none", detail=why)
    start = planned.start
    # The job fires a little after the handover time: an on-time post is never "too old", even when
    # the grace window for late posts is 0.
    grace = max(timedelta(hours=runtime.config.handover_grace_hours), LATE_AFTER)
    if now - start > grace:
        return _too_old(runtime, team, start, now, dry_run=dry_run)
    if not has_data:
        why = "the pager has not been read yet; will retry"
        return HandoverOutcome(team.name, start, "failed", detail=why)
    if planned.same_people:
        return HandoverOutcome(team.name, start, "none", detail="the same people stay on call")
    # Read first, then claim in a short write transaction that commits before Slack is called:
    # the claim must be visible to other replicas before the post can happen.
    with runtime.sessions.begin() as session:
        view = replace(gather(session, runtime.config, team, planned, now), late=now - start > LATE_AFTER)
    text = runtime.slack.plain_text(HandoverPost(view, team.language))  # --dry-run prints it as posted
    if dry_run:
        return _dry_run(runtime, team, view, text, now)
    return _post(runtime, team, view, text, now)


def catch_up(runtime: Runtime, now: datetime) -> list[HandoverOutcome]:
    """After downtime: post each missed handover once (late) within the grace window; skip older ones."""
    outcomes = []
    for team in runtime.config.teams:
        try:
            outcomes.append(run_handover(runtime, team, now))
        except Exception as error:  # one team's failure must not stall the others
            log.exception("handover catch-up for %s failed", team.name)
            outcomes.append(HandoverOutcome(team.name, None, "failed", detail=str(error)))
    return outcomes
