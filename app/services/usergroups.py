"""Usergroup sync: make each team's Slack user group hold exactly the mapped people on call now."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.chat import SlackCallFailed
from app.domain import Team
from app.model.messages import NobodyOnCall, SyncFailed, UnmappedPerson
from app.pacing import SlidingWindow
from app.runtime import Runtime
from app.services import notices
from app.services.freshness import state_is_stale
from app.services.people import NOT_MEMBER_STATUSES, forget_slack_users, resolve_people
from app.store import repo
from app.store.models import UsergroupSync

log = logging.getLogger(__name__)

Groups = Mapping[str, dict[str, Any]]


class WritePacer(SlidingWindow):
    """At most ``per_minute`` usergroups.users.update calls in any 60 s (Slack's Tier 2: about 20 a min)."""

    def __init__(self, per_minute: int = 20, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(per_minute, 60.0, clock)


@dataclass(frozen=True)
class SyncResult:
    """What one team's sync found and did."""

    team: str
    usergroup_id: str | None
    before: tuple[str, ...]
    after: tuple[str, ...]
    action: str  # updated, unchanged, would_update, deferred, skipped_empty, stale, no_data, failed
    detail: str = ""
    unmapped: tuple[str, ...] = ()
    code: str = ""  # "usergroup_gone" when the group no longer exists: an admin must act

    @property
    def failed(self) -> bool:
        """True when the sync could not do its job."""
        return self.action == "failed"


def fetch_groups(runtime: Runtime) -> Groups:
    """Every user group with its members, keyed by id and by handle: one Slack call for all teams."""
    by_key: dict[str, dict[str, Any]] = {}
    for group in runtime.slack.usergroups():
        if isinstance(group, dict) and group.get("id") and group.get("handle"):
            by_key[group["id"]] = group
            by_key[group["handle"]] = group
    return by_key


@dataclass(frozen=True)
class _Desired:
    desired: tuple[str, ...]
    unmapped: tuple[tuple[str, str], ...]  # (pager id, problem)
    shift_key: str


def _desired(runtime: Runtime, team: Team, now: datetime) -> _Desired | str:
    """The Slack ids that should be in the group, or why the group must be left alone."""
    with runtime.sessions.begin() as session:
        state = repo.team_state(session, team.name)
        snapshot = repo.latest_snapshot(session, team.name)
        if snapshot is None:
            return "no_data"
        if state_is_stale(state, now, runtime.config.refresh_minutes):
            return "stale"  # a blip syncs from the cache as it is; stale data leaves the group alone
        people, shift_key = list(snapshot.people), snapshot.first_seen_at.isoformat()
    rows = resolve_people(runtime, people, now)  # may ask Slack: outside any transaction
    desired, unmapped = set(), []
    for person in people:
        row = rows.get(person.lower())
        if row is not None and row.status == "ok" and row.slack_user_id:
            desired.add(row.slack_user_id)
        else:
            unmapped.append(
                (
                    person,
                    NOT_MEMBER_STATUSES.get(
                        row.status if row else "not_found", NOT_MEMBER_STATUSES["unknown"]
                    ),
                )
            )
    return _Desired(tuple(sorted(desired)), tuple(unmapped), shift_key)


def _record(runtime: Runtime, result: SyncResult, now: datetime) -> None:
    """Store the sync; an unchanged sync just bumps the time of an identical previous record."""
    with runtime.sessions.begin() as session:
        last = session.scalars(
            select(UsergroupSync)
            .where(UsergroupSync.team == result.team)
            .order_by(UsergroupSync.id.desc())
            .limit(1)
        ).first()
        same = (
            last is not None
            and last.result == result.action == "unchanged"
            and tuple(last.after) == result.after
        )
        if same and last is not None:
            last.at = now
            return
        session.add(
            UsergroupSync(
                team=result.team,
                usergroup_id=result.usergroup_id,
                at=now,
                before=list(result.before),
                after=list(result.after),
                result=result.action,
                detail=result.detail or None,
            )
        )


def _tell_unmapped(runtime: Runtime, team: Team, wanted: _Desired, now: datetime) -> None:
    for pager_id, problem in wanted.unmapped:
        notice = UnmappedPerson(team.name, pager_id, problem, team.language)
        notices.post_once(runtime, team, "unmapped", f"{pager_id}|{wanted.shift_key}", notice, now)


def _write(
    runtime: Runtime, team: Team, group_id: str, wanted: _Desired, before: tuple[str, ...], now: datetime
) -> SyncResult:
    try:
        runtime.slack.update_usergroup(group_id, wanted.desired)
    except SlackCallFailed as failure:
        if failure.code in ("invalid_users", "failed_for_some_users"):
            with runtime.sessions.begin() as session:
                forget_slack_users(session, wanted.desired)  # look them up again next cycle
        notice = SyncFailed(team.name, team.usergroup, str(failure), team.language)
        notices.post_once(runtime, team, "sync_failed", f"{failure.code}|{wanted.shift_key}", notice, now)
        gone = "usergroup_gone" if failure.code == "subteam_not_found" else ""
        return SyncResult(team.name, group_id, before, before, "failed", str(failure), code=gone)
    log.info("team %s: @%s now %s (was %s)", team.name, team.usergroup, wanted.desired, before)
    return SyncResult(team.name, group_id, before, wanted.desired, "updated")


def sync_team(
    runtime: Runtime,
    team: Team,
    groups: Groups,
    now: datetime,
    *,
    dry_run: bool = False,
    pacer: WritePacer | None = None,
) -> SyncResult:
    """Compare the group with the people on call and write it only when they differ (never empty)."""
    group = groups.get(team.usergroup)
    group_id = group["id"] if group else None
    before = tuple(sorted(group.get("users") or [])) if group else ()
    try:
        wanted = _desired(runtime, team, now)
    except SlackCallFailed as failure:
        return SyncResult(team.name, group_id, before, before, "failed", str(failure))
    if isinstance(wanted, str):
        why = {"no_data": "no on-call data yet", "stale": "the pager is unreachable; group left as it is"}[
            wanted
        ]
        return SyncResult(team.name, group_id, before, before, wanted, why)
    unmapped = tuple(p for p, _ in wanted.unmapped)
    if group is None or group_id is None:
        result = SyncResult(
            team.name,
            None,
            (),
            (),
            "failed",
            f"no user group @{team.usergroup} in this workspace: create it or fix 'usergroup'",
            unmapped,
            "usergroup_gone",
        )
    elif not wanted.desired:
        result = SyncResult(
            team.name,
            group_id,
            before,
            before,
            "skipped_empty",
            "nobody (mapped) is on call; Slack forbids an empty group",
            unmapped,
        )
    elif set(before) == set(wanted.desired):
        result = SyncResult(team.name, group_id, before, before, "unchanged", "", unmapped)
    elif dry_run:
        result = SyncResult(team.name, group_id, before, wanted.desired, "would_update", "", unmapped)
    elif pacer is not None and not pacer.try_acquire():
        result = SyncResult(
            team.name,
            group_id,
            before,
            before,
            "deferred",
            "waiting for Slack's usergroup write limit; next cycle",
            unmapped,
        )
    else:
        written = _write(runtime, team, group_id, wanted, before, now)
        result = SyncResult(
            written.team,
            written.usergroup_id,
            written.before,
            written.after,
            written.action,
            written.detail,
            unmapped,
            written.code,
        )
    if dry_run:
        return result
    if result.action == "skipped_empty":
        notice = NobodyOnCall(team.name, team.usergroup, tuple(unmapped), team.language)
        notices.post_once(runtime, team, "nobody_on_call", wanted.shift_key, notice, now)
    _tell_unmapped(runtime, team, wanted, now)
    _record(runtime, result, now)
    return result
