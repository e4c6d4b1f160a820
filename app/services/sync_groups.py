"""Every team's usergroup sync in a cycle: one read, compared in memory, one write for all the records.

Every team's state, latest snapshot and people mappings are read in one transaction and compared with
the groups; only a team that needs Slack (a lookup, a write, a notice) takes a worker, and every team's
record is written in one short transaction at the end (sync_records.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.chat import SlackCallFailed
from app.domain import Team
from app.log_json import log_context
from app.runtime import Runtime
from app.services.freshness import state_is_stale
from app.services.people import resolve_people, stale_ids
from app.services.sync_records import record_syncs
from app.services.usergroups import (
    Desired,
    Groups,
    SyncResult,
    WritePacer,
    desired_of,
    judge,
    paced,
    tell,
    write_group,
)
from app.store import cycle_rows
from app.store.cycle_rows import PersonMapping, SnapshotRow, StateRow
from app.store.db import reading

log = logging.getLogger(__name__)

Map = Callable[..., Iterable[Any]]  # the cycle's pool.map (or the builtin map)
WHY = {"no_data": "no on-call data yet", "stale": "the pager is unreachable; group left as it is"}


@dataclass(frozen=True, slots=True)
class _Job:
    """A team whose sync needs Slack: a lookup first (``wanted`` None), a write or a notice."""

    team: Team
    group: dict[str, Any] | None
    snapshot: SnapshotRow
    wanted: Desired | None
    result: SyncResult | None


def _finish(
    runtime: Runtime, job: _Job, now: datetime, dry_run: bool, pacer: WritePacer | None
) -> SyncResult:
    """The Slack part of one team's sync: look people up, write the group, say what must be said."""
    team, wanted, result = job.team, job.wanted, job.result
    if wanted is None or result is None:
        people, key = job.snapshot.people, job.snapshot.first_seen_at.isoformat()
        try:
            wanted = desired_of(people, resolve_people(runtime, people, now), key)
        except SlackCallFailed as failure:
            before = tuple(sorted(job.group.get("users") or [])) if job.group else ()
            group_id = job.group["id"] if job.group else None
            return SyncResult(team.name, "failed", group_id, before, before, str(failure))
        result = paced(judge(team, job.group, wanted, dry_run), pacer)
    if result.action == "write":
        result = replace(write_group(runtime, team, result, wanted, now), unmapped=result.unmapped)
    if not dry_run:
        tell(runtime, team, result, wanted, now)
    return result


@dataclass(frozen=True, slots=True)
class _Read:
    """What every team's sync compares with its group, read in one transaction."""

    states: dict[str, StateRow]
    snapshots: dict[str, SnapshotRow]
    people: dict[str, PersonMapping]
    stale: frozenset[str]  # the identities whose mapping Slack must be asked again


def _read(runtime: Runtime, names: Sequence[str], now: datetime) -> _Read:
    with reading(runtime.sessions) as session:
        states = cycle_rows.states(session, names)
        snapshots = cycle_rows.snapshots(session, names)
        ids = sorted({p.lower() for snapshot in snapshots.values() for p in snapshot.people})
        people = cycle_rows.people(session, ids)
    return _Read(states, snapshots, people, frozenset(stale_ids(people, ids, now, runtime.config.people)))


def _plan(
    runtime: Runtime, team: Team, groups: Groups, read: _Read, now: datetime, dry_run: bool
) -> SyncResult | _Job:
    """Decide one team's sync from what was read: a result, or the Slack work it still needs."""
    group = groups.get(team.usergroup)
    snapshot = read.snapshots.get(team.name)
    if snapshot is None or state_is_stale(read.states.get(team.name), now, runtime.config.refresh_minutes):
        why = "no_data" if snapshot is None else "stale"  # stale data leaves the group alone; a blip syncs
        before = tuple(sorted(group.get("users") or [])) if group else ()
        return SyncResult(team.name, why, group["id"] if group else None, before, before, WHY[why])
    if any(p.lower() in read.stale for p in snapshot.people):
        return _Job(team, group, snapshot, None, None)  # someone to look up in Slack first
    wanted = desired_of(snapshot.people, read.people, snapshot.first_seen_at.isoformat())
    result = judge(team, group, wanted, dry_run)
    if result.action == "write" or (not dry_run and (result.action == "skipped_empty" or wanted.unmapped)):
        return _Job(team, group, snapshot, wanted, result)
    return result


def sync_teams(
    runtime: Runtime,
    teams: Sequence[Team],
    groups: Groups,
    now: datetime,
    *,
    dry_run: bool = False,
    pacer: WritePacer | None = None,
    map: Map = map,
) -> list[SyncResult]:
    """Compare each group with the people on call and write it only when they differ (never empty)."""
    read = _read(runtime, [team.name for team in teams], now)
    planned: list[SyncResult | _Job] = []
    for team in teams:
        step = _plan(runtime, team, groups, read, now, dry_run)
        if isinstance(step, _Job) and step.result is not None:
            step = replace(step, result=paced(step.result, pacer))  # in team order, not the workers'
        planned.append(step)

    def finish(step: SyncResult | _Job) -> SyncResult:
        if isinstance(step, SyncResult):
            return step
        with log_context(team=step.team.name):
            try:
                return _finish(runtime, step, now, dry_run, pacer)
            except Exception as error:
                log.exception("team %s: usergroup sync failed unexpectedly", step.team.name)
                return SyncResult(step.team.name, "failed", detail=f"unexpected error: {error}")

    jobs = [step for step in planned if isinstance(step, _Job)]
    done = dict(zip((id(job) for job in jobs), map(finish, jobs), strict=True))
    results = [step if isinstance(step, SyncResult) else done[id(step)] for step in planned]
    return results if dry_run else record_syncs(runtime, results, now)
