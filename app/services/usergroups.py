"""Usergroup sync: make each team's Slack user group hold exactly the mapped people on call now.

This module compares one group with the people on call and writes it; sync_groups.py does so for every
team of a cycle from one read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.chat import SlackCallFailed
from app.domain import Team
from app.model.messages import NobodyOnCall, SyncFailed, UnmappedPerson
from app.pacing import SlidingWindow
from app.runtime import Runtime
from app.services import notices
from app.services.people import NOT_MEMBER_STATUSES, forget_slack_users

log = logging.getLogger(__name__)

Groups = Mapping[str, dict[str, Any]]


class WritePacer(SlidingWindow):
    """At most ``per_minute`` usergroups.users.update calls in any 60 s (Slack's Tier 2: about 20 a min)."""

    def __init__(self, per_minute: int = 20, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(per_minute, 60.0, clock)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one team's sync found and did: its group's members ``before`` and ``after``."""

    team: str
    action: str  # updated, unchanged, would_update, deferred, skipped_empty, stale, no_data, failed
    usergroup_id: str | None = None
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
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


@dataclass(frozen=True, slots=True)
class Desired:
    """The Slack ids that belong in a group, who cannot be in it (and why), and the shift's key."""

    desired: tuple[str, ...]
    unmapped: tuple[tuple[str, str], ...]  # (pager id, problem)
    shift_key: str


def desired_of(people: Sequence[str], rows: Mapping[str, Any], shift_key: str) -> Desired:
    """The Slack ids that should be in the group, and who cannot be (with why), from people mappings."""
    desired, unmapped = set(), []
    for person in people:
        row = rows.get(person.lower())
        if row is not None and row.status == "ok" and row.slack_user_id:
            desired.add(row.slack_user_id)
        else:
            status = row.status if row is not None else "not_found"
            unmapped.append((person, NOT_MEMBER_STATUSES.get(status, NOT_MEMBER_STATUSES["unknown"])))
    return Desired(tuple(sorted(desired)), tuple(unmapped), shift_key)


def judge(team: Team, group: dict[str, Any] | None, wanted: Desired, dry_run: bool) -> SyncResult:
    """What the group needs (no Slack call): ``write`` when its members must change."""
    before = tuple(sorted(group.get("users") or [])) if group else ()
    unmapped = tuple(p for p, _ in wanted.unmapped)
    base = SyncResult(team.name, "unchanged", group["id"] if group else None, before, before, "", unmapped)
    if group is None or not group.get("id"):
        detail = f"no user group @{team.usergroup} in this workspace: create it or fix 'usergroup'"
        return SyncResult(team.name, "failed", None, (), (), detail, unmapped, "usergroup_gone")
    if not wanted.desired:
        return replace(
            base, action="skipped_empty", detail="nobody (mapped) is on call; Slack forbids an empty group"
        )
    if set(before) == set(wanted.desired):
        return base
    return replace(base, action="would_update" if dry_run else "write", after=wanted.desired)


def paced(result: SyncResult, pacer: WritePacer | None) -> SyncResult:
    """A write within Slack's limit stays a write; beyond it, the group waits for the next slot."""
    if result.action != "write" or pacer is None or pacer.try_acquire():
        return result
    return replace(
        result,
        action="deferred",
        after=result.before,
        detail="waiting for Slack's usergroup write limit; next cycle",
    )


def write_group(
    runtime: Runtime, team: Team, result: SyncResult, wanted: Desired, now: datetime
) -> SyncResult:
    assert result.usergroup_id is not None
    try:
        runtime.slack.update_usergroup(result.usergroup_id, wanted.desired)
    except SlackCallFailed as failure:
        if failure.code in ("invalid_users", "failed_for_some_users"):
            with runtime.sessions.begin() as session:
                forget_slack_users(session, wanted.desired)  # look them up again next cycle
        notice = SyncFailed(team.name, team.usergroup, str(failure), team.language)
        notices.post_once(runtime, team, "sync_failed", f"{failure.code}|{wanted.shift_key}", notice, now)
        gone = "usergroup_gone" if failure.code == "subteam_not_found" else ""
        return replace(result, action="failed", after=result.before, detail=str(failure), code=gone)
    log.info("team %s: @%s now %s (was %s)", team.name, team.usergroup, wanted.desired, result.before)
    return replace(result, action="updated")


def tell(runtime: Runtime, team: Team, result: SyncResult, wanted: Desired, now: datetime) -> None:
    """Say once what the channel must know: nobody mapped is on call, someone cannot be in the group."""
    if result.action == "skipped_empty":
        notice = NobodyOnCall(team.name, team.usergroup, result.unmapped, team.language)
        notices.post_once(runtime, team, "nobody_on_call", wanted.shift_key, notice, now)
    for pager_id, problem in wanted.unmapped:
        message = UnmappedPerson(team.name, pager_id, problem, team.language)
        notices.post_once(runtime, team, "unmapped", f"{pager_id}|{wanted.shift_key}", message, now)
