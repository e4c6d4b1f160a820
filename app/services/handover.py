"""The weekly handover: one post per (team, shift start), in the team's zone, exactly once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.config import OncallConfig
from app.domain import Team
from app.runtime import Runtime
from app.services.freshness import state_is_stale
from app.services.handover_checks import (
    handing_over,
    handover_after,
    handover_at_or_before,
    person_views,
    write_retrying,
)
from app.slack.handover_blocks import (
    EscalationView,
    HandoverView,
    UsergroupView,
    handover_message,
    incoming_dm,
    message_text,
)
from app.slack.post import PostFailed, post_message
from app.store import repo
from app.store.models import Escalation, Handover, ShiftRow, TeamState, UsergroupSync

log = logging.getLogger(__name__)

Status = Literal["posted", "already_posted", "late", "skipped_too_old", "dry_run", "failed", "unconfirmed"]

LATE_AFTER = timedelta(minutes=10)  # the cron job fires on time; later than this, a catch-up posted it
CATCH_UP_DELAY = timedelta(minutes=2)  # the hourly catch-up's first run waits for the first refresh
STALE_CLAIM = timedelta(minutes=15)  # a claim this old will not record its result any more


@dataclass(frozen=True)
class HandoverOutcome:
    """What one handover attempt did; ``text`` is the plain-text rendering for the CLI."""

    team: str
    shift_start: datetime
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
            r.created_at, r.channel, r.thread_ts, r.user_id, r.text, r.resolved_at is None, r.permalink
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
    session: Session, config: OncallConfig, team: Team, start: datetime, now: datetime
) -> HandoverView:
    """Read everything the handover of ``team`` at ``start`` shows from the cache."""
    outgoing, incoming, change = handing_over(session, team, start)
    views = person_views(session, config, [*outgoing, *incoming])
    state = session.get(TeamState, team.name)
    success = state.last_success_at if state else None
    return HandoverView(
        team=team.name,
        zone=team.timezone,
        start=start,
        end=handover_after(team, start),
        outgoing=tuple(views[p.lower()] for p in outgoing),
        incoming=tuple(views[p.lower()] for p in incoming),
        usergroup=_usergroup(session, team),
        escalations=_escalations(session, team.name, handover_after(team, start, -1), start),
        pager_change=change if change != start else None,
        stale=success is None or state_is_stale(state, now, config.refresh_minutes),
        last_success_at=success,
        last_error=state.last_error if state else None,
    )


def _has_data(session: Session, team: str) -> bool:
    any_shift = session.scalars(select(ShiftRow.id).where(ShiftRow.team == team).limit(1)).first()
    return any_shift is not None or repo.latest_snapshot(session, team) is not None


def _key(team: Team, start: datetime) -> tuple[object, ...]:
    return (Handover.team == team.name, Handover.shift_start == start)


def _claim(session: Session, team: Team, view: HandoverView, now: datetime) -> bool:
    """Own the (team, shift start) key: insert it, or take over an attempt that Slack refused."""
    values = {
        "team": team.name,
        "shift_start": view.start,
        "created_at": now,
        "status": "claimed",
        "late": view.late,
        "outgoing": [p.pager_id for p in view.outgoing],
        "incoming": [p.pager_id for p in view.incoming],
        "channel": team.channel,
        "detail": None,
    }
    if repo.insert_ignoring_duplicates(session, Handover, values):
        return True
    # Only "failed" is taken over: Slack answered that it did not post. A stale "claimed" row is not,
    # see _unconfirmed.
    taken = session.execute(
        update(Handover).where(*_key(team, view.start), Handover.status == "failed").values(**values)
    )
    return bool(getattr(taken, "rowcount", 0))


def _existing(session: Session, team: Team, start: datetime) -> Handover | None:
    return session.scalars(select(Handover).where(*_key(team, start))).first()


def _finish(runtime: Runtime, team: Team, start: datetime, **values: object) -> bool:
    """Record how the post went; retried, because a row left "claimed" is never posted again."""
    try:
        write_retrying(
            runtime,
            lambda session: session.execute(update(Handover).where(*_key(team, start)).values(**values)),
            f"recording the {team.name} handover",
        )
    except OperationalError as error:
        log.error(
            "the %s handover of %s was %s but that could not be recorded: %s",
            team.name,
            start.isoformat(),
            values.get("status"),
            error.orig,
        )
        return False
    return True


def _unconfirmed(runtime: Runtime, team: Team, row: Handover, text: str, now: datetime) -> HandoverOutcome:
    """A claim whose result was never recorded: say so once, for a human; never post it again.

    Either the process stopped between claiming and posting (nothing was posted), or it posted and then
    could not record it (a crash, or a database locked through every retry of _finish). The database
    cannot tell these apart. Taking the claim over would double the post and the DM in the second case,
    in front of the whole company; not taking it over loses the post in the first case, whose window is
    one HTTP request long. So a human is told once, at ERROR level, how to check and repair it.
    """
    detail = (
        f"claimed at {row.created_at.isoformat()} but the result was never recorded; it may or may not be "
        f"in {team.channel}: if it is missing, `oncall-bot handover --team {team.name} --dry-run` prints it"
    )
    stale = (Handover.status == "claimed", Handover.created_at < now - STALE_CLAIM)
    marked = write_retrying(
        runtime,
        lambda s: s.execute(
            update(Handover)
            .where(*_key(team, row.shift_start), *stale)
            .values(status="unconfirmed", detail=detail)
        ),
        f"marking the {team.name} handover unconfirmed",
    )
    if getattr(marked, "rowcount", 0):
        log.error("the %s handover of %s was %s", team.name, row.shift_start.isoformat(), detail)
    return HandoverOutcome(team.name, row.shift_start, "unconfirmed", text, detail)


def _skip_too_old(runtime: Runtime, team: Team, start: datetime, now: datetime) -> HandoverOutcome:
    grace = runtime.config.handover_grace_hours
    values = {
        "team": team.name,
        "shift_start": start,
        "created_at": now,
        "status": "skipped",
        "outgoing": [],
        "incoming": [],
        "detail": f"missed by more than {grace:g} h",
    }
    with runtime.sessions.begin() as session:
        inserted = repo.insert_ignoring_duplicates(session, Handover, values)
        existing = None if inserted else _existing(session, team, start)
        if existing is not None and existing.status == "posted":
            return HandoverOutcome(team.name, start, "already_posted", detail="posted before")
    if inserted:
        log.warning(
            "skipped the %s handover of %s: %s late, beyond the grace of %g h",
            team.name,
            start.isoformat(),
            now - start,
            grace,
        )
    return HandoverOutcome(team.name, start, "skipped_too_old", detail=f"more than {grace:g} h ago")


def _dm_incoming(runtime: Runtime, view: HandoverView) -> list[str]:
    failures = []
    dm = incoming_dm(view)
    for person in view.incoming:
        if not person.mapped or person.slack_id is None:
            continue
        try:
            post_message(runtime.slack, person.slack_id, text=dm["text"], blocks=dm["blocks"])
        except PostFailed as failure:
            failures.append(f"DM to {person.slack_id} failed: {failure}")
    for failure in failures:
        log.warning("%s handover: %s", view.team, failure)
    return failures


def _not_ours(
    runtime: Runtime, team: Team, start: datetime, row: Handover | None, text: str, now: datetime
) -> HandoverOutcome:
    """The key is held by another attempt: posted, in progress, or claimed long ago and never recorded."""
    if row is not None and (
        row.status == "unconfirmed" or (row.status == "claimed" and row.created_at < now - STALE_CLAIM)
    ):
        return _unconfirmed(runtime, team, row, text, now)
    detail = f"{row.status} at {row.created_at.isoformat()}" if row else "claimed elsewhere"
    return HandoverOutcome(team.name, start, "already_posted", text, detail)


def _post(
    runtime: Runtime, team: Team, view: HandoverView, message: dict[str, Any], text: str
) -> HandoverOutcome:
    """Post the claimed handover, record how it went, then direct-message the incoming people."""
    try:
        ts = post_message(runtime.slack, team.channel, text=message["text"], blocks=message["blocks"])
    except PostFailed as failure:
        _finish(runtime, team, view.start, status="failed", detail=str(failure))
        log.warning("posting the %s handover failed: %s", team.name, failure)
        return HandoverOutcome(team.name, view.start, "failed", text, str(failure))
    recorded = _finish(runtime, team, view.start, status="posted", message_ts=ts or None)
    failures = _dm_incoming(runtime, view)
    if not recorded:
        failures.insert(0, "posted, but the database did not record it")
    when = view.start.isoformat()
    log.info("posted the %s handover of %s%s", team.name, when, " (late)" if view.late else "")
    status: Status = "late" if view.late else "posted"
    return HandoverOutcome(team.name, view.start, status, text, "; ".join(failures))


def run_handover(runtime: Runtime, team: Team, now: datetime, *, dry_run: bool = False) -> HandoverOutcome:
    """Post (or with ``dry_run`` only render) the handover of the shift started last at or before ``now``."""
    start = handover_at_or_before(team, now)
    # The cron job fires a little after the handover time: an on-time post is never "too old", even when
    # the grace window for late posts is 0.
    grace = max(timedelta(hours=runtime.config.handover_grace_hours), LATE_AFTER)
    if not dry_run and now - start > grace:
        return _skip_too_old(runtime, team, start, now)
    # Read first, then claim in a short write transaction that commits before Slack is called:
    # the claim must be visible to other replicas before the post can happen.
    with runtime.sessions.begin() as session:
        view = replace(gather(session, runtime.config, team, start, now), late=now - start > LATE_AFTER)
        has_data = _has_data(session, team.name)
    message = handover_message(view)
    text = message_text(message)
    if dry_run:
        return HandoverOutcome(team.name, start, "dry_run", text)
    if not has_data:
        return HandoverOutcome(
            team.name, start, "failed", text, "the pager has not been read yet; will retry"
        )
    with runtime.sessions.begin() as session:
        claimed = _claim(session, team, view, now)
        row = None if claimed else _existing(session, team, start)
    if not claimed:
        return _not_ours(runtime, team, start, row, text, now)
    return _post(runtime, team, view, message, text)


def catch_up(runtime: Runtime, now: datetime) -> list[HandoverOutcome]:
    """After downtime: post each missed handover once (late) within the grace window; skip older ones."""
    outcomes = []
    for team in runtime.config.teams:
        try:
            outcomes.append(run_handover(runtime, team, now))
        except Exception as error:  # one team's failure must not stall the others
            log.exception("handover catch-up for %s failed", team.name)
            outcomes.append(
                HandoverOutcome(team.name, handover_at_or_before(team, now), "failed", detail=str(error))
            )
    return outcomes
