"""Plain-text reports for the CLI: what a cycle did, and what the cache holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.domain import Team
from app.model.text import ago
from app.runtime import Runtime
from app.services.cycle import TeamReport
from app.services.freshness import state_is_stale
from app.store import repo
from app.store.db import reading
from app.store.models import TeamState

_ACTIONS = {
    "updated": "updated the group",
    "unchanged": "group already right; no write",
    "would_update": "would update the group (dry run)",
    "deferred": "update deferred to the next cycle (Slack write pacing)",
    "skipped_empty": "left the group as it is: nobody (mapped) on call",
    "stale": "left the group as it is: pager unreachable",
    "no_data": "no on-call data yet",
    "failed": "FAILED",
}


def _members(ids: Sequence[str]) -> str:
    return ", ".join(ids) if ids else "(empty)"


def describe_cycle(reports: Sequence[TeamReport], *, dry_run: bool) -> str:
    """One block per team: on call, the group before and after, and the action (or the failure)."""
    lines = ["dry run: nothing is written to Slack\n"] if dry_run else []
    for report in reports:
        refresh, sync = report.refresh, report.sync
        lines.append(f"team {refresh.team.name} (@{refresh.team.usergroup})")
        if refresh.ok:
            lines.append(f"  on call:  {', '.join(refresh.people) or 'nobody'}")
        else:
            lines.append(f"  pager:    FAILED: {refresh.error}")
        if sync.unmapped:
            lines.append(f"  unmapped: {', '.join(sync.unmapped)}")
        lines.append(f"  before:   {_members(sync.before)}")
        lines.append(f"  after:    {_members(sync.after)}")
        action = _ACTIONS.get(sync.action, sync.action)
        lines.append(f"  action:   {action}" + (f": {sync.detail}" if sync.detail else ""))
        if report.channel:
            lines.append(f"  channel:  FAILED: {report.channel}")
    failed = sum(r.failed for r in reports)
    lines.append(f"\n{len(reports)} team(s), {failed} failed")
    return "\n".join(lines)


def describe_cached(runtime: Runtime, teams: Sequence[Team], now: datetime) -> tuple[str, bool]:
    """Who the cache says is on call for each team, with the data's age; True when any team is stale."""
    lines, stale = [], False
    with reading(runtime.sessions) as session:
        for team in teams:
            snapshot = repo.latest_snapshot(session, team.name)
            state = session.get(TeamState, team.name)
            if snapshot is None:
                lines.append(f"{team.name}: no data yet (run `oncall-bot sync`)")
                stale = True
                continue
            people = ", ".join(snapshot.people) or "nobody"
            line = f"{team.name}: {people} (as of {ago(now - snapshot.last_seen_at)})"
            if state_is_stale(state, now, runtime.config.refresh_minutes):
                stale = True
                if state is not None and state.failing_since is not None:
                    since = ago(now - state.failing_since)
                    line += f"; STALE: pager failing since {since}: {state.last_error}"
                else:
                    line += "; STALE: no refresh since then (is `oncall-bot run` running?)"
            elif state is not None and state.failing_since is not None:
                line += f"; the last refresh failed, retrying: {state.last_error}"
            lines.append(line)
    return "\n".join(lines), stale
