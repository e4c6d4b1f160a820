"""Groups a cycle could not write within Slack's limit, written as soon as the limit allows.

A full resync (every group changed, e.g. a Monday with 200 teams) needs ten minutes at 20 writes a
minute. Waiting for the next cycle would write 20 groups per ``refresh_minutes`` (50 minutes for 200);
instead the usergroup job wakes when the pacer frees its next slots and writes the deferred groups from
the cache: one usergroups.list per pass and no pager call.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from app.runtime import Runtime
from app.services.cycle import TeamReport
from app.services.sync_groups import sync_teams
from app.services.usergroups import SyncResult, WritePacer, fetch_groups

RESYNC_JOB = "usergroups-deferred"


class Resync:
    """The deferred teams and the pacer they wait for (shared by the refresh job and this one)."""

    def __init__(self, pacer: WritePacer | None = None) -> None:
        self.pacer = pacer or WritePacer()
        self._teams: set[str] = set()
        self._lock = threading.Lock()

    def note(self, results: Sequence[SyncResult]) -> None:
        """Remember the teams these syncs deferred; forget the ones they wrote or found in order."""
        with self._lock:
            for result in results:
                if result.action == "deferred":
                    self._teams.add(result.team)
                else:
                    self._teams.discard(result.team)

    def pending(self) -> list[str]:
        """The teams still waiting for a write slot."""
        with self._lock:
            return sorted(self._teams)

    def next_pass(self) -> timedelta | None:
        """When the next pass can write (None: nothing waits)."""
        return timedelta(seconds=self.pacer.wait()) if self.pending() else None

    def run(self, runtime: Runtime, now: datetime) -> list[SyncResult]:
        """Sync the deferred teams' groups from the cache, as many as the pacer allows now."""
        waiting = set(self.pending())
        teams = [team for team in runtime.config.teams if team.name in waiting]
        if not teams or self.pacer.wait() > 0:
            return []
        groups = fetch_groups(runtime)
        results = sync_teams(runtime, teams, groups, now, pacer=self.pacer)
        self.note(results)
        return results


def after_cycle(resync: Resync, reports: Sequence[TeamReport]) -> timedelta | None:
    """Note a cycle's syncs; when the resync job should run next (None: nothing deferred)."""
    resync.note([report.sync for report in reports])
    return resync.next_pass()
