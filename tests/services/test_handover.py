"""The weekly handover against the sandbox's Slack: on time across DST, once, late once, never too late."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import select

from app import jobs
from app.demo import running_demo_bot
from app.demo.handover import demo_step
from app.domain import Shift, Team
from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, PEOPLE, ROTATION, World, last_handover, teams_toml
from app.services.cycle import run_cycle
from app.services.handover import LATE_AFTER, catch_up, run_handover
from app.services.handover_timing import handover_after
from app.slack.blocks import message_text
from app.slack.person_notices import DASH
from app.store import db, repo
from app.store.models import Escalation, Handover, PersonRow, UsergroupSync
from tests.conftest import RuntimeFactory
from tests.databases import writes_held

ALICE, BOB, CAROL = "U0ALICE0001", "U0BOB000001", "U0CAROL0001"
AMSTERDAM, NEW_YORK = "Europe/Amsterdam", "America/New_York"


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An aware UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# Mondays 09:00 local just before and just after each daylight-saving change of 2026, as UTC instants.
DST_MONDAYS = {
    AMSTERDAM: [utc(2026, 3, 23, 8), utc(2026, 3, 30, 7), utc(2026, 10, 19, 7), utc(2026, 10, 26, 8)],
    NEW_YORK: [utc(2026, 3, 2, 14), utc(2026, 3, 9, 13), utc(2026, 10, 26, 13), utc(2026, 11, 2, 14)],
}
E = DST_MONDAYS[AMSTERDAM][1]  # Monday 30 March 2026 09:00 CEST, the first handover after the clocks moved


def config_for(zone: str = AMSTERDAM, *, grace: float | None = None) -> str:
    """The seeded workspace's teams file with the team in ``zone`` and an optional grace window."""
    head = f"handover_grace_hours = {grace}\n" if grace is not None else ""
    return head + teams_toml(f'timezone = "{zone}"\n')


def team_of(runtime: Runtime) -> Team:
    """The only team of the config."""
    return runtime.config.teams[0]


def seed_cache(
    runtime: Runtime,
    first: datetime,
    weeks: int,
    people: Sequence[str] = ROTATION,
    *,
    offset: timedelta = timedelta(),
) -> list[Shift]:
    """Fill the cache as the roster refresh would: weekly shifts, on-call history and Slack mappings.

    Shifts start at the team's handover moments (plus ``offset``), beginning at ``first``.
    """
    team = team_of(runtime)
    moments = [handover_after(team, first, week) + offset for week in range(weeks + 1)]
    shifts = [Shift(people[i % len(people)], moments[i], moments[i + 1]) for i in range(weeks)]
    with runtime.sessions.begin() as session:
        repo.replace_shifts(session, team.name, shifts, moments[0])
        for shift in shifts:
            repo.record_on_call(session, team.name, [shift.person], shift.start)
        for user_id, _, email, _ in PEOPLE:
            session.merge(
                PersonRow(
                    pager_id=email, slack_user_id=user_id, source="lookup", status="ok", checked_at=first
                )
            )
    return shifts


def fresh(runtime: Runtime, at: datetime) -> None:
    """Record that the pager answered at ``at`` (the data is not stale)."""
    with runtime.sessions.begin() as session:
        state = repo.team_state(session, team_of(runtime).name)
        state.last_attempt_at = state.last_success_at = at


def handover_posts(sandbox: Sandbox) -> list[dict[str, Any]]:
    """The handover messages in the team channel."""
    return [m for m in sandbox.slack.messages(CHANNEL) if m["text"].startswith("On-call handover")]


def handover_rows(runtime: Runtime) -> list[Handover]:
    """Every Handover row, by shift start."""
    with runtime.sessions.begin() as session:
        return list(session.scalars(select(Handover).order_by(Handover.shift_start)))


def local_label(moment: datetime, zone: str) -> str:
    """``Mon 30 Mar 09:00`` computed independently of the renderer, asserting the wall clock."""
    local = moment.astimezone(ZoneInfo(zone))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    return f"Mon {local.day} {local:%b} 09:00"


@pytest.fixture
def runtime(world: World, make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime(config_for())


@pytest.mark.parametrize("zone", [AMSTERDAM, NEW_YORK])
def test_cron_trigger_fires_monday_0900_local_across_dst(
    zone: str, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(config_for(zone))
    scheduler = runtime.scheduler  # built with the runtime, not started
    jobs.schedule(scheduler, runtime)
    assert scheduler.get_job("handover-hourly") is not None
    trigger = scheduler.get_job("handover:data").trigger
    mondays = DST_MONDAYS[zone]
    for before, after in (mondays[:2], mondays[2:]):
        assert trigger.get_next_fire_time(None, before - timedelta(days=1)) == before
        assert trigger.get_next_fire_time(before, before + timedelta(seconds=1)) == after
        assert after - before != timedelta(days=7)  # the UTC gap really is 7 days ± 1 hour


@pytest.mark.parametrize("zone", [AMSTERDAM, NEW_YORK])
def test_post_appears_once_at_0900_local_across_dst_weeks(
    zone: str, sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(config_for(zone))
    mondays = DST_MONDAYS[zone]
    seed_cache(runtime, mondays[0] - timedelta(days=14), weeks=40)
    for monday in mondays:
        posted_at = []
        for probe in (
            monday - timedelta(hours=2),
            monday - timedelta(minutes=1),
            monday,
            monday + timedelta(seconds=30),
            monday + timedelta(hours=1),
            monday + timedelta(hours=5),
        ):
            fresh(runtime, probe)
            [outcome] = catch_up(runtime, probe)
            if outcome.status in ("posted", "late"):
                assert outcome.shift_start == monday
                posted_at.append((probe, outcome.status))
        assert posted_at == [(monday, "posted")]
        end = handover_after(team_of(runtime), monday)
        assert (
            f"*Shift:* {local_label(monday, zone)} {DASH} {local_label(end, zone)} ({zone})"
            in (handover_posts(sandbox)[-1]["blocks"][1]["text"]["text"])
        )
    assert len(handover_posts(sandbox)) == 4
    posted = [r.shift_start for r in handover_rows(runtime) if r.status == "posted"]
    assert posted == mondays


@pytest.mark.parametrize(("zone", "monday"), [(AMSTERDAM, E), (NEW_YORK, DST_MONDAYS[NEW_YORK][3])])
def test_the_scheduler_posts_at_the_local_handover_time(
    zone: str, monday: datetime, sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(config_for(zone))
    seed_cache(runtime, monday - timedelta(days=14), weeks=4)
    scheduler = runtime.scheduler  # built with the runtime, not started
    jobs.schedule(scheduler, runtime)
    for job in scheduler.get_jobs():
        if job.id != "handover:data":
            job.remove()  # only the cron job: nothing else may post or refresh
    ran = threading.Event()
    events: list[JobExecutionEvent] = []

    def seen(event: JobExecutionEvent) -> None:
        events.append(event)
        ran.set()

    scheduler.add_listener(seen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    with time_machine.travel(monday - timedelta(milliseconds=300), tick=True):
        fresh(runtime, monday)
        scheduler.start()
        try:
            assert ran.wait(timeout=10), "the cron job did not fire"
        finally:
            scheduler.shutdown(wait=True)
    assert [e.exception for e in events] == [None]
    assert events[0].scheduled_run_time == monday
    [post] = handover_posts(sandbox)
    assert "Posted late" not in message_text(post)
    [row] = handover_rows(runtime)
    assert (row.shift_start, row.status, row.late) == (monday, "posted", False)
    assert monday <= row.created_at < monday + timedelta(seconds=5)


def test_restart_around_the_handover_does_not_double_it(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    first = make_runtime(config_for())
    seed_cache(first, E - timedelta(days=7), weeks=3)
    fresh(first, E)
    assert run_handover(first, team_of(first), E).status == "posted"
    restarted = make_runtime(config_for())  # a new process on the same database
    assert run_handover(restarted, team_of(restarted), E + timedelta(seconds=20)).status == "already_posted"
    assert [o.status for o in catch_up(restarted, E + timedelta(hours=1))] == ["already_posted"]
    assert len(handover_posts(sandbox)) == 1


def test_a_claim_never_recorded_waits_while_in_flight_then_is_read_back_and_posted_once(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    with runtime.sessions.begin() as session:  # the process claimed, then died before posting
        session.add(
            Handover(team="data", shift_start=E, created_at=E, status="claimed", outgoing=[], incoming=[])
        )
    fresh(runtime, E + timedelta(minutes=5))
    [outcome] = catch_up(runtime, E + timedelta(minutes=5))
    assert outcome.status == "in_progress"  # its post could still be on its way: never "already_posted"
    for minutes, status in ((20, "late"), (80, "already_posted"), (140, "already_posted")):
        fresh(runtime, E + timedelta(minutes=minutes))
        assert [o.status for o in catch_up(runtime, E + timedelta(minutes=minutes))] == [status]
    assert len(handover_posts(sandbox)) == 1
    assert len(sandbox.slack.messages(BOB)) == 1
    assert [r.status for r in handover_rows(runtime)] == ["posted"]


def test_a_locked_database_after_the_post_is_waited_out_and_never_doubles_it(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 300)  # "database is locked" after 0.3 s, not 10 s
    runtime = make_runtime(config_for())
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    fresh(runtime, E)
    sandbox.slack.latency = 0.3
    outcomes: list[str] = []
    poster = threading.Thread(
        target=lambda: outcomes.append(run_handover(runtime, team_of(runtime), E).status)
    )
    poster.start()
    deadline = time.monotonic() + 10
    while not handover_rows(runtime) and time.monotonic() < deadline:
        time.sleep(0.005)
    url = runtime.sessions.kw["bind"].url.render_as_string(hide_password=False)
    try:
        with writes_held(url):  # another writer holds the lock from the claim until after the post
            while not sandbox.slack.requests("chat.postMessage") and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.5)  # longer than the busy timeout: recording the post fails at least once
    finally:
        sandbox.slack.latency = 0.0
    poster.join(timeout=30)
    assert outcomes == ["posted"]
    [row] = handover_rows(runtime)
    [post] = handover_posts(sandbox)
    assert (row.status, row.message_ts) == ("posted", post["ts"])
    fresh(runtime, E + timedelta(hours=1))
    assert [o.status for o in catch_up(runtime, E + timedelta(hours=1))] == ["already_posted"]
    assert len(handover_posts(sandbox)) == 1
    assert len(sandbox.slack.messages(BOB)) == 1


def test_two_replicas_at_the_same_instant_post_once(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    replicas = [make_runtime(config_for()), make_runtime(config_for())]
    seed_cache(replicas[0], E - timedelta(days=7), weeks=3)
    fresh(replicas[0], E)
    barrier = threading.Barrier(len(replicas))
    statuses: list[str] = []

    def replica(runtime: Runtime) -> None:
        barrier.wait()
        statuses.append(run_handover(runtime, team_of(runtime), E).status)

    threads = [threading.Thread(target=replica, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # The other replica saw the claim in flight, or (when it ran a little later) the post recorded.
    assert sorted(statuses) in (["in_progress", "posted"], ["already_posted", "posted"])
    assert len(handover_posts(sandbox)) == 1
    assert len(sandbox.slack.messages(BOB)) == 1  # one DM too


def test_missed_within_grace_is_posted_once_marked_late(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    fresh(runtime, E + timedelta(hours=5))
    [outcome] = catch_up(runtime, E + timedelta(hours=5))  # the bot was down from Sunday to Monday 14:00
    assert (outcome.status, outcome.shift_start) == ("late", E)
    assert "Posted late: I was not running at Mon 30 Mar 09:00." in outcome.text
    assert [o.status for o in catch_up(runtime, E + timedelta(hours=6))] == ["already_posted"]
    [post] = handover_posts(sandbox)
    assert "Posted late: I was not running at Mon 30 Mar 09:00." in message_text(post)
    [row] = handover_rows(runtime)
    assert (row.status, row.late, row.message_ts) == ("posted", True, post["ts"])


@pytest.mark.parametrize(
    ("grace", "missed_by"), [(None, timedelta(hours=12, minutes=1)), (2, timedelta(hours=3))]
)
def test_missed_beyond_grace_is_skipped_with_one_log_line(
    grace: float | None,
    missed_by: timedelta,
    sandbox: Sandbox,
    world: World,
    make_runtime: RuntimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = make_runtime(config_for(grace=grace))
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    with caplog.at_level(logging.INFO, logger="app.services.handover"):
        for later in (timedelta(), timedelta(hours=1), timedelta(hours=30)):
            fresh(runtime, E + missed_by + later)
            assert [o.status for o in catch_up(runtime, E + missed_by + later)] == ["skipped_too_old"]
    assert handover_posts(sandbox) == []
    assert sandbox.slack.messages(BOB) == []
    skipped = [r.getMessage() for r in caplog.records if "skipped the data handover" in r.getMessage()]
    assert len(skipped) == 1
    assert "2026-03-30T07:00:00+00:00" in skipped[0]
    assert [(r.shift_start, r.status) for r in handover_rows(runtime)] == [(E, "skipped")]


def test_grace_zero_still_posts_on_time_and_nothing_late(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(config_for(grace=0))
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    fresh(runtime, E)
    assert run_handover(runtime, team_of(runtime), E + timedelta(milliseconds=40)).status == "posted"
    next_week = handover_after(team_of(runtime), E)
    fresh(runtime, next_week + LATE_AFTER + timedelta(minutes=1))
    [outcome] = catch_up(runtime, next_week + LATE_AFTER + timedelta(minutes=1))
    assert outcome.status == "skipped_too_old"
    assert len(handover_posts(sandbox)) == 1
    assert [(r.shift_start, r.status) for r in handover_rows(runtime)] == [
        (E, "posted"),
        (next_week, "skipped"),
    ]


def add_escalation(
    runtime: Runtime, at: datetime, text: str, *, resolved: bool, permalink: str | None
) -> None:
    """An Escalation row as the escalation service writes it."""
    with runtime.sessions.begin() as session:
        session.add(
            Escalation(
                event_id=f"Ev{at.timestamp():.0f}",
                team="data",
                channel=CHANNEL,
                message_ts="1774000000.000100",
                thread_ts="1774000000.000100",
                user_id="U0DAVE00001",
                text=text,
                on_call=["alice@corp.example"],
                priority="P3",
                status="tag_only",
                created_at=at,
                updated_at=at,
                permalink=permalink,
                resolved_at=at + timedelta(hours=1) if resolved else None,
                closed_at=at + timedelta(hours=1) if resolved else None,  # someone pressed Resolve
            )
        )


def test_post_and_dm_content_from_the_cache(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - timedelta(days=14), weeks=4, people=["carol@corp.example", "alice@corp.example"])
    link = "https://sandbox.slack.com/archives/C0DATA00001/p1774000000000100"
    add_escalation(runtime, E - timedelta(days=3), "etl <!channel> failed", resolved=False, permalink=link)
    add_escalation(runtime, E - timedelta(days=2), "dashboard slow", resolved=True, permalink=None)
    add_escalation(runtime, E - timedelta(days=8), "older shift: not counted", resolved=False, permalink=None)
    add_escalation(
        runtime, E + timedelta(minutes=1), "new shift: not counted", resolved=False, permalink=None
    )
    with runtime.sessions.begin() as session:
        session.add(
            UsergroupSync(
                team="data",
                usergroup_id="S0DATA00001",
                at=E - timedelta(minutes=4),
                before=[ALICE],
                after=[CAROL],
                result="updated",
            )
        )
    fresh(runtime, E - timedelta(hours=1))  # an hour old: stale
    outcome = run_handover(runtime, team_of(runtime), E)
    assert outcome.status == "posted"
    window = f"Mon 30 Mar 09:00 {DASH} Mon 6 Apr 09:00 (Europe/Amsterdam)"
    expected = (
        f"On-call handover: data\n<@{ALICE}> → <@{CAROL}>\n*Shift:* {window}\n"
        "*Escalations last shift:* 2 (1 still open)\n"
        f"• <{link}|Fri 27 Mar 08:00> from <@U0DAVE00001>: “etl &lt;!channel&gt; failed”\n"
        f"*Usergroup:* @data-oncall → <@{CAROL}> (checked Mon 30 Mar 08:56)\n"
        "*Needs attention*\n• The pager was last read Mon 30 Mar 08:00: who is on call may be out of date"
    )
    [post] = handover_posts(sandbox)
    assert message_text(post) == expected == outcome.text
    assert post["text"] == f"On-call handover for data: <@{ALICE}> → <@{CAROL}>, {window}"
    [dm] = sandbox.slack.messages(CAROL)
    assert message_text(dm) == (
        "You are on call for *data* from Mon 30 Mar 09:00 to Mon 6 Apr 09:00 (Europe/Amsterdam).\n"
        "*Still open from the last shift:*\n"
        f"• <{link}|Fri 27 Mar 08:00> from <@U0DAVE00001>: “etl &lt;!channel&gt; failed”\n"
        "Got it"  # the button that acknowledges the handover
    )
    assert sandbox.slack.messages(ALICE) == []  # the outgoing person gets no DM


def test_unmapped_incoming_person_is_named_and_not_messaged(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3, people=["alice@corp.example", "erin@corp.example"])
    with runtime.sessions.begin() as session:
        session.add(
            PersonRow(
                pager_id="erin@corp.example",
                slack_user_id=None,
                source="lookup",
                status="not_found",
                checked_at=E,
            )
        )
    fresh(runtime, E)
    outcome = run_handover(runtime, team_of(runtime), E)
    assert outcome.status == "posted"
    assert f"<@{ALICE}> → erin@corp.example" in outcome.text
    assert "• erin@corp.example: no Slack user has this email" in outcome.text
    assert [r.method for r in sandbox.slack.requests("chat.postMessage")] == ["chat.postMessage"]


def test_a_pager_change_at_another_time_is_said_in_the_post(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3, offset=timedelta(hours=1))  # the pager turns at 10:00
    fresh(runtime, E)
    outcome = run_handover(runtime, team_of(runtime), E)
    assert outcome.status == "posted"
    assert f"<@{ALICE}> → <@{BOB}>" in outcome.text
    assert (
        "The pager changes shift at Mon 30 Mar 10:00, not at the handover time Mon 30 Mar 09:00."
        in outcome.text
    )


def test_a_refused_post_is_recorded_and_retried_by_the_catch_up(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    fresh(runtime, E)
    sandbox.slack.fail("chat.postMessage", "not_in_channel")
    outcome = run_handover(runtime, team_of(runtime), E)
    assert outcome.status == "failed"
    assert "not_in_channel" in outcome.detail
    assert [(r.status, r.detail) for r in handover_rows(runtime)] == [("failed", outcome.detail)]
    assert handover_posts(sandbox) == []
    fresh(runtime, E + timedelta(hours=1))
    assert [o.status for o in catch_up(runtime, E + timedelta(hours=1))] == ["late"]
    assert len(handover_posts(sandbox)) == 1


def test_dry_run_renders_without_posting_or_claiming(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    fresh(runtime, E + timedelta(hours=2))
    outcome = run_handover(runtime, team_of(runtime), E + timedelta(hours=2), dry_run=True)
    assert (outcome.status, outcome.shift_start, outcome.detail) == ("dry_run", E, "late")
    assert outcome.text.startswith(f"On-call handover: data\n<@{ALICE}> → <@{BOB}>\n")
    assert sandbox.slack.requests("chat.postMessage") == []
    assert handover_rows(runtime) == []


def test_nothing_is_claimed_before_the_pager_was_ever_read(sandbox: Sandbox, runtime: Runtime) -> None:
    [outcome] = catch_up(runtime, E + timedelta(minutes=1))
    assert outcome.status == "failed"
    assert "not been read" in outcome.detail
    assert handover_rows(runtime) == []
    assert sandbox.slack.requests("chat.postMessage") == []


def test_with_the_real_roster_refresh_against_the_pager(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    handover = last_handover(world.rotation_start + timedelta(days=15))  # bob hands over to carol
    run_cycle(runtime, handover - timedelta(minutes=10))
    run_cycle(runtime, handover + timedelta(minutes=1))
    outcome = run_handover(runtime, team_of(runtime), handover + timedelta(minutes=2))
    assert outcome.status == "posted"
    assert f"<@{BOB}> → <@{CAROL}>" in outcome.text
    assert f"*Usergroup:* @data-oncall → <@{CAROL}>" in outcome.text
    assert "Needs attention" not in outcome.text
    assert len(sandbox.slack.messages(CAROL)) == 1


def test_the_demo_step_shows_the_post_the_dm_and_no_second_post() -> None:
    out = io.StringIO()
    with running_demo_bot(out) as scene:
        demo_step(scene)
        assert scene.bot.runtime.now() - datetime.now(UTC) < timedelta(minutes=1)  # the clock is back
    assert scene.transcript.failures == []
    transcript = out.getvalue()
    assert "oncall-bot in the team channel:" in transcript
    assert "│ @carol → @alice" in transcript
    assert "oncall-bot → DM to alice:" in transcript
    assert "tries again: already_posted" in transcript
