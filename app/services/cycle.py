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
from app.services.channel_checks import ChannelChecks
from app.services.cycle_pool import pulling_map
from app.services.digests import announce_shift_changes
from app.services.people import resolve_people, unresolved_shown
from app.services.roster import Plan, TeamRefresh, refresh_teams
from app.services.sync_groups import sync_teams
from app.services.usergroups import SyncResult, WritePacer, fetch_groups

log = logging.getLogger(__name__)

# Pager and Slack calls are I/O bound; a few threads keep a 200-team cycle short without hammering either API.
WORKERS = 8
# The pager's one request per team has threads of its own: at 20 ms a request, 1,000 teams over 8 are 2.5 s
# of waiting alone, over 16 1.25 s. Each pager client paces itself (PagerDuty's 960 a minute by its budget,
# Opsgenie's and JSM's 429s waited out), so more in flight never means more than the pager allows; Slack's
# stages keep their 8. Every thread more costs each request a little CPU (GIL hand-offs: 200 teams took
# ~0.1 ms a team more over 16 than over 8), so a thread per 64 teams, 8 to 16.
PAGER_WORKERS = 16
TEAMS_PER_PAGER_WORKER = 64


def pager_workers(teams: int) -> int:
    """How many threads ask the pager for ``teams`` teams: one per 64, at least 8, at most 16."""
    return min(PAGER_WORKERS, max(WORKERS, -(-teams // TEAMS_PER_PAGER_WORKER)))


@dataclass(frozen=True, slots=True)
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
    with log_context(team=refresh.team.name):
        try:
            if not refresh.ok:
                notices.announce_outage(runtime, refresh.team, now)
                return
            notices.announce_recovery(runtime, refresh.team, now)
            if refresh.timeline_read:
                shifts = refresh.shifts_before, refresh.shifts_after
                announce_shift_changes(runtime, refresh.team, *shifts, now)
        except Exception:
            log.exception("team %s: notices after the refresh failed", refresh.team.name)


def _has_news(plan: Plan, refresh: TeamRefresh) -> bool:
    """Whether the refresh may have something to say: a failure, a timeline read, an outage told before."""
    state = plan.states.get(refresh.team.name)
    told = state is not None and state.outage_announced_since is not None
    return not refresh.ok or refresh.timeline_read or told


def _refresh(
    runtime: Runtime, pool: ThreadPoolExecutor, teams: list[Team], now: datetime, dry_run: bool
) -> tuple[Plan, list[TeamRefresh]]:
    """Refresh every team; an unexpected error (a locked database, a bug) fails the teams it touched."""
    try:
        spread = pulling_map(pool, pager_workers(len(teams)))  # a future per worker, not one per team
        return refresh_teams(runtime, teams, now, dry_run=dry_run, map=spread)
    except Exception as error:
        log.exception("the refresh failed unexpectedly")
        failed = [TeamRefresh(team=t, ok=False, error=f"unexpected error: {error}") for t in teams]
        return Plan({}, {}), failed


def _channel_due(report: TeamReport, checks: ChannelChecks | None, now: datetime) -> bool:
    """Whether the team channel may be checked now: paced by ``checks``; without it, at a timeline read."""
    if checks is None:  # `oncall-bot sync`: a one-off run checks the channels whose timeline it read
        return report.refresh.timeline_read
    return checks.due(report.refresh.team.name, now)


def _admin_due(report: TeamReport, checks: ChannelChecks | None, now: datetime) -> bool:
    """Whether an admin may need telling: the hourly channel check, a schedule or group not found."""
    refresh, sync = report.refresh, report.sync
    return _channel_due(report, checks, now) or refresh.cause is not None or bool(sync.code)


def _admin_step(
    runtime: Runtime, report: TeamReport, checks: ChannelChecks | None, now: datetime
) -> TeamReport:
    """Check the channel when it is due (hourly), and say once what only an admin can fix."""
    refresh, sync = report.refresh, report.sync
    with log_context(team=refresh.team.name):
        try:
            due = _channel_due(report, checks, now)
            checked = due and (checks is None or checks.take(refresh.team.name, now))
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


def run_cycle(
    runtime: Runtime,
    now: datetime,
    *,
    teams: Sequence[Team] | None = None,
    dry_run: bool = False,
    pacer: WritePacer | None = None,
    checks: ChannelChecks | None = None,
) -> list[TeamReport]:
    """Refresh every team from the pager, then sync every usergroup; one failing team stops no other.

    ``pacer`` paces the usergroup writes and ``checks`` the channel checks (the scheduled job's, which
    outlive a cycle); without them every write is made and each channel whose timeline was read checked.
    """
    chosen = list(teams if teams is not None else runtime.config.teams)
    with (
        ThreadPoolExecutor(pager_workers(len(chosen)), thread_name_prefix="cycle-pager") as pager,
        ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="cycle") as pool,
    ):
        plan, refreshes = _refresh(runtime, pager, chosen, now, dry_run)
        if not dry_run:  # in steady state nobody has news: no worker, no transaction
            news = [refresh for refresh in refreshes if _has_news(plan, refresh)]
            list(pool.map(lambda refresh: _after_refresh(runtime, refresh, now), news))
        _resolve_shown(runtime, pool, chosen, now)  # whether or not the usergroups can be synced
        try:
            groups = fetch_groups(runtime)
            syncs = sync_teams(runtime, chosen, groups, now, dry_run=dry_run, pacer=pacer, map=pool.map)
        except Exception as failure:
            if isinstance(failure, SlackCallFailed):
                log.error("usergroup sync skipped: %s", failure)
            else:
                log.exception("usergroup sync failed unexpectedly")
                failure = Exception(f"unexpected error: {failure}")
            syncs = [SyncResult(r.team.name, "failed", detail=str(failure)) for r in refreshes]
        reports = [TeamReport(refresh, sync) for refresh, sync in zip(refreshes, syncs, strict=True)]
        if dry_run:
            return reports
        due = [report for report in reports if _admin_due(report, checks, now)]  # few in steady state
        steps = pool.map(lambda r: _admin_step(runtime, r, checks, now), due)
        told = dict(zip(map(id, due), steps, strict=True))
        return [told.get(id(report), report) for report in reports]
