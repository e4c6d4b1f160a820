"""APScheduler jobs: each coalesces missed runs, never overlaps itself, and never kills the process."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.exc import SQLAlchemyError

from app.domain import WEEKDAYS, Team
from app.job_runs import adder, every, guarded
from app.runtime import Runtime
from app.services.alert_sync import SYNC_EVERY, SYNC_JOB, AlertWatch
from app.services.channel_checks import ChannelChecks
from app.services.cycle import run_cycle
from app.services.escalation_pages import PAGES_EVERY, PAGES_JOB, pager_answers, retry_pending_pages
from app.services.handover import CATCH_UP_DELAY, catch_up, run_handover
from app.services.identity_check import check_incoming_identities
from app.services.resync import RESYNC_JOB, Resync, after_cycle
from app.services.retention import PRUNE_EVERY, PRUNE_JOB, prune
from app.services.shift_tick import EVERY, SHIFTS_JOB, shift_tick
from app.services.usergroups import WritePacer
from app.store import repo
from app.store.db import reading

log = logging.getLogger(__name__)

PRUNE_DELAY = timedelta(minutes=10)
REFRESH_JOB = "refresh"
CATCH_UP_JOB = "handover-hourly"


def refresh_job(runtime: Runtime, pacer: WritePacer | Resync) -> Callable[[], None]:
    """The roster refresh and usergroup sync job, logging a one-line summary per cycle."""
    resync = pacer if isinstance(pacer, Resync) else Resync(pacer)
    checks = ChannelChecks()  # each channel hourly, within Slack's limit, across the job's cycles

    def run() -> None:
        started = time.monotonic()
        reports = run_cycle(runtime, runtime.now(), pacer=resync.pacer, checks=checks)
        runtime.metrics.cycle(reports)
        wait = after_cycle(resync, reports)
        if wait is not None:  # groups beyond Slack's write limit: written as slots free, not next cycle
            runtime.wake(RESYNC_JOB, wait)
        if any(r.refresh.ok for r in reports):
            pager_answers(runtime, runtime.now())  # pages waiting out a backoff need not wait any longer
        if any(r.refresh.timeline_read for r in reports):
            # A timeline read may bring a shift change or a reminder that is due now: not a minute later.
            runtime.wake(SHIFTS_JOB)
        failed = [r.refresh.team.name for r in reports if r.failed]
        for report in reports:
            if report.failed:
                log.warning("team %s failed: %s", report.refresh.team.name, report.reason)
        updated = sum(r.sync.action == "updated" for r in reports)
        log.info(
            "cycle: %d team(s) in %.2f s, %d group(s) updated, failed: %s",
            len(reports),
            time.monotonic() - started,
            updated,
            ", ".join(failed) or "none",
        )

    return guarded("refresh", run)


def resync_job(runtime: Runtime, resync: Resync) -> Callable[[], None]:
    """Write the groups a cycle deferred, as Slack's write limit allows; wake again while some wait."""

    def run() -> None:
        results = resync.run(runtime, runtime.now())
        if results:
            written = sum(r.action == "updated" for r in results)
            log.info(
                "usergroups: %d deferred group(s) written, %d still waiting", written, len(resync.pending())
            )
        wait = resync.next_pass()
        if wait is not None:
            runtime.wake(RESYNC_JOB, wait)

    return guarded(RESYNC_JOB, run)


def refresh_wait(runtime: Runtime) -> timedelta:
    """How long until the next refresh is due: one interval after the least recent team's last one."""
    interval = timedelta(minutes=runtime.config.refresh_minutes)
    with reading(runtime.sessions) as session:
        last = repo.last_refreshed(session, [team.name for team in runtime.config.teams])
    return timedelta(0) if last is None else max(last + interval - runtime.now(), timedelta(0))


def when_due(runtime: Runtime, job: Callable[[], object]) -> Callable[[], None]:
    """Refresh once an interval has passed since the last refresh by any replica, else wake when due."""
    # A replica taking over neither doubles its predecessor's pager reads nor waits a whole interval of
    # its own phase. A process that leads from its start (a lone bot, a restart) refreshes at once, as
    # it always did: its config may be new.
    interval = timedelta(minutes=runtime.config.refresh_minutes)
    slack = min(interval / 10, timedelta(seconds=30))  # a tick a moment early still counts as on time
    first = [True]

    def run() -> None:
        at_start, first[0] = first[0], False
        leadership = runtime.leadership
        if not (at_start and (not leadership.engaged or leadership.led_from_start)):
            wait = refresh_wait(runtime)
            if wait > slack:
                log.debug("refresh: the last one was recent; the next is due in %s", wait)
                runtime.wake(REFRESH_JOB, wait)
                return
        job()

    return run


def on_leadership(runtime: Runtime) -> Callable[[bool], None]:
    """What a replica does on becoming the leader: the refresh when due, the shifts now, the catch-up soon."""

    def changed(leading: bool) -> None:
        if not leading:
            return
        try:
            at_once = runtime.leadership.led_from_start
            runtime.wake(REFRESH_JOB, timedelta(0) if at_once else refresh_wait(runtime))
        except SQLAlchemyError as error:
            log.warning("refresh: cannot read when the last one ran (%s); it runs at its next tick", error)
        # Handovers whose time came while no replica led are posted by the catch-up (late, once);
        # the shift job's reminders and follow-ups the old leader left are due now.
        runtime.wake(CATCH_UP_JOB, CATCH_UP_DELAY)
        runtime.wake(SHIFTS_JOB)

    return changed


def schedule(scheduler: BackgroundScheduler, runtime: Runtime) -> None:
    """Add the bot's recurring jobs: the page outbox runs on every replica, the others on the leader."""
    log.debug("scheduling jobs for %d team(s)", len(runtime.config.teams))
    add, now = adder(scheduler, runtime), datetime.now(UTC)
    every_refresh, resync = every(timedelta(minutes=runtime.config.refresh_minutes)), Resync()
    refresh = guarded(REFRESH_JOB, when_due(runtime, refresh_job(runtime, resync)))
    add(REFRESH_JOB, refresh, every_refresh, first=now)  # at start, then every refresh_minutes
    # At start too: work a dead process left (its leases ran out) is taken over at once.
    pages = guarded(PAGES_JOB, lambda: retry_pending_pages(runtime, runtime.now()))
    add(PAGES_JOB, pages, every(PAGES_EVERY), everywhere=True, first=now)
    watch = AlertWatch()  # alerts closed (or acknowledged) at the pager reach their threads
    add(SYNC_JOB, guarded(SYNC_JOB, lambda: watch.run(runtime, runtime.now())), every(SYNC_EVERY))
    for team in runtime.config.teams:
        hand = team.fixed_handover
        if hand is None:
            continue  # per shift: the shifts job; off: no handover
        at = CronTrigger(
            day_of_week=WEEKDAYS[hand.weekday] if hand.weekday is not None else None,
            hour=hand.hour,
            minute=hand.minute,
            timezone=ZoneInfo(team.timezone),  # wall clock: Monday 09:00 stays 09:00 across DST
        )
        add(f"handover:{team.name}", handover_job(runtime, team), at)
    # At start: a reminder whose moment passed while the bot was down goes now.
    add(SHIFTS_JOB, shifts_job(runtime), every(EVERY), first=now)
    # The catch-up once the first refresh has filled the cache; pruning out of that refresh's way.
    add(CATCH_UP_JOB, lambda: handover_hourly(runtime), every(timedelta(hours=1)), first=now + CATCH_UP_DELAY)
    add(RESYNC_JOB, resync_job(runtime, resync), every_refresh)  # and woken when groups wait
    add(PRUNE_JOB, prune_job(runtime), every(PRUNE_EVERY), first=now + PRUNE_DELAY)


def prune_job(runtime: Runtime) -> Callable[[], None]:
    """Delete history older than the teams file's ``retention_days`` (services/retention.py)."""

    def run() -> None:
        pruned = prune(runtime.sessions, runtime.config.retention_days, runtime.now())
        if pruned.total:
            counts = ", ".join(f"{table} {n}" for table, n in sorted(pruned.counts.items()) if n)
            log.info(
                "pruned %d row(s) older than %d days: %s", pruned.total, runtime.config.retention_days, counts
            )

    return guarded(PRUNE_JOB, run)


def shifts_job(runtime: Runtime) -> Callable[[], None]:
    """Per-shift handovers, reminders and acknowledgements; runs again early when something is due."""

    def run() -> None:
        now = runtime.now()
        due = shift_tick(runtime, now)
        if due is not None and due - now < EVERY:
            runtime.wake(SHIFTS_JOB, max(due - now, timedelta(0)))

    return guarded(SHIFTS_JOB, run)


def handover_job(runtime: Runtime, team: Team) -> Callable[[], None]:
    """The weekly (or daily) handover post of one team, at its handover time."""
    return guarded(f"handover:{team.name}", lambda: run_handover(runtime, team, runtime.now()))


def handover_hourly(runtime: Runtime) -> None:
    """Post missed handovers within the grace window, then check the next incoming people's Slack accounts."""
    now = runtime.now()
    guarded("handover-catch-up", lambda: catch_up(runtime, now))()
    guarded("handover-identity-check", lambda: check_incoming_identities(runtime, now))()
