"""Retention: history older than ``retention_days`` is deleted, so the cache stays as fast as on day one.

History is what grows with time: on-call snapshots, usergroup syncs, once-only keys (notices, handovers and
their "Got it" presses), escalations and the cached shifts of teams no longer read. Each table keeps what a
reader or a writer can still need: the row that was current at the cutoff (snapshots, syncs), every once-only
key that can still be triggered (services/retention_keys.py), and every escalation with work left or an alert
that may still be open at the pager. Deletes go in small batches, each its own short transaction, so neither
the write lock nor a replica's /oncall waits on a year of rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from app.config_teams import MIN_RETENTION_DAYS
from app.services.retention_keys import ESCALATION_DM, HANDOVER_LIVES, can_recur, team_keys
from app.store.models import (
    Escalation,
    Handover,
    HandoverAck,
    Notice,
    OnCallSnapshot,
    ShiftRow,
    UsergroupSync,
)

log = logging.getLogger(__name__)

PRUNE_JOB = "prune"
PRUNE_EVERY = timedelta(hours=1)
BATCH = 2000  # rows per delete transaction: a few milliseconds of write lock each
# An alert may still be open at the pager: its Acknowledge and Resolve buttons must keep working.
ALERTED = ("requested", "created", "unconfirmed")


@dataclass
class Pruned:
    """How many rows one pruning run deleted, per table."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, count: int) -> None:
        """Count ``count`` deleted rows of ``table``."""
        self.counts[table] = self.counts.get(table, 0) + count

    @property
    def total(self) -> int:
        """Rows deleted in all."""
        return sum(self.counts.values())


def _in_batches(
    sessions: sessionmaker[Session], model: Any, find: Callable[[Session], Sequence[int]], pruned: Pruned
) -> None:
    """Delete the ids ``find`` returns, one short transaction per batch, until it returns none."""
    while True:
        with sessions.begin() as session:
            ids = list(find(session))[:BATCH]
            if ids:
                session.execute(delete(model).where(model.id.in_(ids)))
        pruned.add(model.__tablename__, len(ids))
        if len(ids) < BATCH:
            return


def _teams(session: Session, model: Any) -> list[str]:
    return list(session.scalars(select(model.team).distinct()))


def _history(
    sessions: sessionmaker[Session], model: Any, when: Any, cutoff: datetime, pruned: Pruned, keep: Any = None
) -> None:
    """Per team, delete the rows older than the one that was current at ``cutoff`` (that one stays)."""
    with sessions.begin() as session:
        teams = _teams(session, model)
    for team in teams:
        with sessions.begin() as session:
            anchor = session.execute(
                select(when, model.id)
                .where(model.team == team, when <= cutoff)
                .order_by(when.desc(), model.id.desc())
                .limit(1)
            ).first()
            kept = (
                session.scalar(
                    select(model.id)
                    .where(model.team == team, keep)
                    .order_by(when.desc(), model.id.desc())
                    .limit(1)
                )
                if keep is not None
                else None
            )
        if anchor is None:
            continue
        older = tuple_(when, model.id) < tuple_(anchor[0], anchor[1])
        extra: list[ColumnElement[bool]] = [model.id != kept] if kept is not None else []

        def find(session: Session, team: str = team, older: Any = older, extra: Any = extra) -> Sequence[int]:
            query = select(model.id).where(model.team == team, older, *extra).limit(BATCH)
            return list(session.scalars(query))

        _in_batches(sessions, model, find, pruned)


def _notices(sessions: sessionmaker[Session], cutoff: datetime, now: datetime, pruned: Pruned) -> None:
    """Delete notices older than the cutoff whose keys can no longer be triggered."""
    old = select(Notice.id, Notice.team, Notice.kind, Notice.key, Notice.created_at).where(
        Notice.created_at < cutoff, Notice.kind != ESCALATION_DM
    )
    with sessions.begin() as session:
        rows = session.execute(old).all()
        keys = {team: team_keys(session, team) for team in {row.team for row in rows}}
    dead = [row.id for row in rows if not can_recur(keys[row.team], row.kind, row.key, row.created_at, now)]
    for start in range(0, len(dead), BATCH):
        with sessions.begin() as session:
            session.execute(delete(Notice).where(Notice.id.in_(dead[start : start + BATCH])))
    pruned.add(Notice.__tablename__, len(dead))


def _escalations(sessions: sessionmaker[Session], cutoff: datetime, pruned: Pruned) -> None:
    """Delete settled escalations older than the cutoff, with their DM keys; never the newest row.

    Settled: no work left, no lease, no post in flight, and no alert that may still be open at the pager.
    The newest row stays so that SQLite never hands its id out again: a button on an old message carries
    the id, and must find nothing rather than a newer escalation. A pruned escalation's buttons say so.
    """
    with sessions.begin() as session:
        newest = session.scalar(select(func.max(Escalation.id)))
    if newest is None:
        return
    settled = (
        Escalation.created_at < cutoff,
        Escalation.id != newest,
        Escalation.next_attempt_at.is_(None),
        Escalation.lease_token.is_(None),
        Escalation.posting_since.is_(None),
        or_(Escalation.status.not_in(ALERTED), Escalation.closed_at.is_not(None)),
    )

    def find(session: Session) -> Sequence[int]:
        rows = session.execute(select(Escalation.id, Escalation.event_id).where(*settled).limit(BATCH)).all()
        for event_ids in (rows[i : i + 500] for i in range(0, len(rows), 500)):
            dms = or_(*(Notice.key.startswith(f"{row.event_id}:", autoescape=True) for row in event_ids))
            deleted = session.execute(delete(Notice).where(Notice.kind == ESCALATION_DM, dms))
            pruned.add(Notice.__tablename__, int(getattr(deleted, "rowcount", 0) or 0))
        return [row.id for row in rows]

    _in_batches(sessions, Escalation, find, pruned)


def prune(sessions: sessionmaker[Session], retention_days: int, now: datetime) -> Pruned:
    """Delete history older than ``retention_days`` (at least MIN_RETENTION_DAYS) that nothing needs."""
    cutoff = now - timedelta(days=max(retention_days, MIN_RETENTION_DAYS))
    pruned = Pruned()
    _history(sessions, OnCallSnapshot, OnCallSnapshot.first_seen_at, cutoff, pruned)
    # The latest sync that did not fail stays too: the usergroup_gone notice's key names its time.
    _history(sessions, UsergroupSync, UsergroupSync.at, cutoff, pruned, UsergroupSync.result != "failed")
    _notices(sessions, cutoff, now, pruned)
    _escalations(sessions, cutoff, pruned)
    handovers_end = min(cutoff, now - HANDOVER_LIVES)
    _older(sessions, Handover, Handover.shift_start < handovers_end, pruned)
    # A "Got it" press needs its handover's row: once that is gone the press can only be refused, so the
    # presses recorded for it go with it.
    _older(sessions, HandoverAck, HandoverAck.shift_start < handovers_end, pruned)
    # A team's timeline is replaced at each read: rows ending before the cutoff are of teams no longer read.
    _older(sessions, ShiftRow, ShiftRow.end < cutoff, pruned)
    return pruned


def _older(
    sessions: sessionmaker[Session], model: Any, condition: ColumnElement[bool], pruned: Pruned
) -> None:
    def find(session: Session) -> Sequence[int]:
        return list(session.scalars(select(model.id).where(condition).limit(BATCH)))

    _in_batches(sessions, model, find, pruned)
