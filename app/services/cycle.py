"""One refresh-and-sync cycle over all teams: what the scheduled job and `oncall-bot sync` run."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from app.chat import SlackCallFailed
from app.domain import Team
from app.log_json import log_context
from app.runtime import Runtime
from app.services import notices
from app.services.admin_notices import channel_problem, tell_admin
from app.services.digests import announce_shift_changes
from app.services.people import resolve_people, unresolved_shown
from app.services.roster import TeamRefresh, refresh_team
from app.services.usergroups import Groups, SyncResult, WritePacer, fetch_groups, sync_team

log = logging.getLogger(__name__)

# Pager and Slack calls are I/O bound; a few threads keep a 200-team cycle short without hammering either API.
WORKERS = 8


@dataclass(frozen=True)
class TeamReport:
    """One team's cycle: the refresh and the usergroup sync."""

    refresh: TeamRefresh
    sync: SyncResult
    channel: str | None = None  # why the bot cannot post in the team channel, when it was checked

    @property
    def failed(self) -> bool:
        """True when the pager or Slack part failed for this team."""
        return not self.refresh.ok or self.sync.failed or self.channel is not None

    @property
    def reason(self) -> str:
        """Why the team failed, in a sentence (empty when it did not)."""
        why = [] if self.refresh.ok else [f"pager: {self.refresh.error}"]
        why += [f"usergroup: {self.sync.detail}"] if self.sync.failed else []
        why += [f"channel: {self.channel}"] if self.channel else []
        return "; ".join(why)


def _after_refresh(runtime: Runtime, refresh: TeamRefresh, now: datetime) -> None:
    """Say once that the pager went away or came back, and when a coming shift changed hands."""
    if not refresh.ok:
        notices.announce_outage(runtime, refresh.team, now)
        return
    notices.announce_recovery(runtime, refresh.team, now)
    if refresh.timeline_read:
        announce_shift_changes(runtime, refresh.team, refresh.shifts_before, refresh.shifts_after, now)


def _safe_refresh(runtime: Runtime, team: Team, now: datetime, dry_run: bool) -> TeamRefresh:
    """Refresh one team; an unexpected error (a locked database, a bug) fails that team only."""
    with log_context(team=team.name):
        try:
            return refresh_team(runtime, team, now, dry_run=dry_run)
        except Exception as error:
            log.exception("team %s: refresh failed unexpectedly", team.name)
            return TeamRefresh(team=team, ok=False, error=f"unexpected error: {error}")


def _safe_after_refresh(runtime: Runtime, refresh: TeamRefresh, now: datetime) -> None:
    try:
        _after_refresh(runtime, refresh, now)
    except Exception:
        log.exception("team %s: notices after the refresh failed", refresh.team.name)


def _admin_step(runtime: Runtime, refresh: TeamRefresh, sync: SyncResult, now: datetime) -> TeamReport:
    """Check the channel when the timeline was read (hourly), and say once what only an admin can fix."""
    try:
        checked = refresh.timeline_read
        channel = channel_problem(runtime, refresh.team) if checked else None
        tell_admin(runtime, refresh, sync, channel, checked, now)
    except Exception:
        log.exception("team %s: telling the admin failed", refresh.team.name)
        channel = None
    return TeamReport(refresh, sync, channel)


def _resolve_shown(runtime: Runtime, pool: ThreadPoolExecutor, teams: Sequence[Team], now: datetime) -> None:
    """Look up everyone shown for these teams, spread over the workers; a failure never stops the cycle."""

    def resolve(chunk: list[str]) -> None:
        try:
            resolve_people(runtime, chunk, now)
        except SlackCallFailed as failure:
            log.warning("looking people up in Slack failed; some may show as emails: %s", failure)

    try:
        stale = unresolved_shown(runtime, teams, now)
        list(pool.map(resolve, [chunk for chunk in (stale[i::WORKERS] for i in range(WORKERS)) if chunk]))
    except Exception:
        log.exception("looking people up in Slack failed unexpectedly")


def _safe_sync(
    runtime: Runtime, team: Team, groups: Groups, now: datetime, dry_run: bool, pacer: WritePacer | None
) -> SyncResult:
    """Sync one team's group; an unexpected error fails that team only."""
    with log_context(team=team.name):
        try:
            return sync_team(runtime, team, groups, now, dry_run=dry_run, pacer=pacer)
        except Exception as error:
            log.exception("team %s: usergroup sync failed unexpectedly", team.name)
            return SyncResult(team.name, None, (), (), "failed", f"unexpected error: {error}")


def run_cycle(
    runtime: Runtime,
    now: datetime,
    *,
    teams: Sequence[Team] | None = None,
    dry_run: bool = False,
    pacer: WritePacer | None = None,
) -> list[TeamReport]:
    """Refresh every team from the pager, then sync every usergroup; one failing team stops no other."""
    chosen = list(teams if teams is not None else runtime.config.teams)
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="cycle") as pool:
        refreshes = list(pool.map(lambda team: _safe_refresh(runtime, team, now, dry_run), chosen))
        if not dry_run:
            list(pool.map(lambda r: _safe_after_refresh(runtime, r, now), refreshes))
        _resolve_shown(runtime, pool, chosen, now)  # whether or not the usergroups can be synced
        try:
            groups = fetch_groups(runtime)
        except SlackCallFailed as failure:
            log.error("usergroup sync skipped: %s", failure)
            syncs = [SyncResult(r.team.name, None, (), (), "failed", str(failure)) for r in refreshes]
        else:
            syncs = list(pool.map(lambda t: _safe_sync(runtime, t, groups, now, dry_run, pacer), chosen))
        if dry_run:
            return [TeamReport(refresh, sync) for refresh, sync in zip(refreshes, syncs, strict=True)]
        pairs = zip(refreshes, syncs, strict=True)
        return list(pool.map(lambda pair: _admin_step(runtime, pair[0], pair[1], now), pairs))
