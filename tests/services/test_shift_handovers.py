"""Per-shift handovers (handover = "shift"): one post at each shift change, with the real window.

The pager is the built-in rotation read through the real refresh cycle; time moves by explicit instants
handed to the cycle and to the shift job (never by sleeping).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import select

from app import jobs
from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World, teams_toml
from app.services.cycle import run_cycle
from app.services.shift_tick import SHIFTS_JOB, shift_tick
from app.slack.blocks import message_text
from app.slack.person_notices import DASH
from app.store.models import Handover
from tests.conftest import RuntimeFactory

ALICE, BOB, CAROL = "U0ALICE0001", "U0BOB000001", "U0CAROL0001"
AMSTERDAM, NEW_YORK = "Europe/Amsterdam", "America/New_York"
# Each zone's two daylight-saving changes of 2026 (local dates: spring forward, fall back).
DST_DAYS = {AMSTERDAM: ("2026-03-29", "2026-10-25"), NEW_YORK: ("2026-03-08", "2026-11-01")}
PEOPLE = ("alice@corp.example", "U0BOB000001", "carol@corp.example")
SLACK = {"alice@corp.example": ALICE, "U0BOB000001": BOB, "carol@corp.example": CAROL}
LENGTHS = {"12h": timedelta(hours=12), "1d": timedelta(days=1), "1w": timedelta(weeks=1)}


def local(day: str, hour: int, zone: str) -> datetime:
    """``day`` at ``hour``:00 on ``zone``'s wall clock, as aware UTC."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def rotation_config(
    zone: str,
    start: datetime,
    shift: str,
    *,
    people: tuple[str, ...] = PEOPLE,
    extra: str = "",
    grace: float = 0,
    remind: str = "off",
) -> str:
    """A rotation team in ``zone`` with a per-shift handover (the default: no ``handover`` line).

    ``grace`` 0: a handover is posted only within minutes of its time, none late when the test begins.
    """
    names = ", ".join(f'"{p}"' for p in people)
    table = (
        f'[teams.rotation]\npeople = [{names}]\nshift = "{shift}"\n'
        f'start = "{start.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"\n{extra}'
    )
    settings = f'timezone = "{zone}"\nremind_before = "{remind}"\nack_within = "off"\n'
    text = teams_toml(settings, rotation=table)
    return f"handover_grace_hours = {grace}\n" + text.replace('handover = "mon 09:00"\n', "")


def wall(moment: datetime, delta: timedelta, zone: str) -> datetime:
    """``moment`` moved by ``delta`` on ``zone``'s wall clock."""
    at = moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None) + delta
    return at.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def wall_clock_turns(first: datetime, length: timedelta, zone: str, count: int) -> list[datetime]:
    """``count`` turns from ``first``, each ``length`` later on the wall clock (computed without the app)."""
    start = first.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return [(start + i * length).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC) for i in range(count)]


def label(moment: datetime, zone: str) -> str:
    """``Sun 29 Mar 09:00`` on ``zone``'s wall clock."""
    at = moment.astimezone(ZoneInfo(zone))
    return f"{at:%a} {at.day} {at:%b %H:%M}"


def handover_posts(sandbox: Sandbox) -> list[dict[str, Any]]:
    """The handover posts in the team channel, oldest first."""
    return [m for m in sandbox.slack.messages(CHANNEL) if m["text"].startswith("On-call handover")]


def reminders_to(sandbox: Sandbox, user: str) -> list[str]:
    """The shift reminders DMed to ``user``."""
    return [m["text"] for m in sandbox.slack.messages(user) if m["text"].startswith("Your data shift")]


def short_label(at: datetime, zone: str, now: datetime) -> str:
    """How a reminder names a moment: the time today, weekday and time this week, else the date."""
    local, today = at.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone))
    if local.date() == today.date():
        return f"{local:%H:%M}"
    return f"{local:%a %H:%M}" if at - now < timedelta(days=6) else label(at, zone)


def step(runtime: Runtime, now: datetime) -> None:
    """What the running bot does at ``now``: the refresh cycle, then the shift job."""
    run_cycle(runtime, now)
    shift_tick(runtime, now)


def rows(runtime: Runtime) -> list[Handover]:
    """Every handover row, by shift start."""
    with runtime.sessions.begin() as session:
        return list(session.scalars(select(Handover).order_by(Handover.shift_start)))


@pytest.mark.parametrize("length", list(LENGTHS))
@pytest.mark.parametrize("change", [0, 1], ids=["spring", "autumn"])
@pytest.mark.parametrize("zone", [AMSTERDAM, NEW_YORK])
def test_one_post_and_one_reminder_per_shift_change_with_its_window_across_dst(
    zone: str, change: int, length: str, sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    shift = LENGTHS[length]
    count = 6 if length == "12h" else 4  # the turns the test walks through
    # The walk begins a few days before the change of clocks (at 02:00), so that it crosses it.
    days_before = {"12h": 1, "1d": 2, "1w": 3}[length]
    first = wall(local(DST_DAYS[zone][change], 9, zone), -timedelta(days=days_before), zone)
    runtime = make_runtime(rotation_config(zone, wall(first, -3 * shift, zone), length, remind="1h"))
    turns = wall_clock_turns(first, shift, zone, count + 1)
    step(runtime, turns[0] - timedelta(hours=2))
    assert handover_posts(sandbox) == []  # nothing happened since the bot started
    for index, turn in enumerate(turns[:-1]):
        before = len(handover_posts(sandbox))
        incoming = SLACK[PEOPLE[index % 3]]
        reminded = len(reminders_to(sandbox, incoming))
        step(runtime, turn - timedelta(minutes=61))
        assert len(reminders_to(sandbox, incoming)) == reminded, "reminded too early"
        step(runtime, turn - timedelta(hours=1))
        at = turn - timedelta(hours=1)
        starts, runs = short_label(turn, zone, at), short_label(turns[index + 1], zone, at)
        assert reminders_to(sandbox, incoming)[reminded:] == [
            f"Your data shift starts at {starts} (in 1 h) and runs to {runs} ({zone})."
        ]
        step(runtime, turn - timedelta(minutes=1))
        assert len(handover_posts(sandbox)) == before, "posted before the shift changed"
        step(runtime, turn)
        new = handover_posts(sandbox)[before:]
        assert len(new) == 1, f"turn {index} at {turn} got {len(new)} posts"
        outgoing = SLACK[PEOPLE[(index + 2) % 3]]
        text = message_text(new[0])
        assert text.startswith(f"On-call handover: data\n<@{outgoing}> → <@{incoming}>\n")
        window = f"*Shift:* {label(turn, zone)} {DASH} {label(turns[index + 1], zone)} ({zone})"
        assert window in text
        for later in (timedelta(seconds=30), timedelta(hours=1)):
            step(runtime, turn + later)
        assert len(handover_posts(sandbox)) == before + 1, "posted twice"
        assert len(reminders_to(sandbox, incoming)) == reminded + 1, "reminded twice"
    walked = [r.shift_start for r in rows(runtime) if r.status == "posted"]
    assert walked == turns[:-1]
    gaps = {b - a for a, b in pairwise(turns)}
    assert len(gaps) == 2, "the walk must cross a change of clocks"  # e.g. 12 h and 11 h


def test_no_post_when_the_same_person_stays_and_a_short_override_gets_none(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    first = local("2026-04-06", 9, AMSTERDAM)  # a Monday
    lunch = (
        "[[teams.rotation.overrides]]\n"
        'person = "dave@corp.example"\nstart = "2026-04-07 12:00"\nend = "2026-04-07 13:00"\n'
    )
    people = ("alice@corp.example", "alice@corp.example", "U0BOB000001")  # alice twice in a row
    start = first - timedelta(days=3)  # Fri alice, Sat alice, Sun bob, Mon alice, Tue alice, Wed bob, ...
    runtime = make_runtime(rotation_config(AMSTERDAM, start, "1d", people=people, extra=lunch))
    for hour in range(4, 24 * 4, 4):  # every 4 hours: on each 09:00 turn
        step(runtime, first + timedelta(hours=hour))
    texts = [message_text(p) for p in handover_posts(sandbox)]
    # Monday to Wednesday alice (with dave's lunch hour on Tuesday), then bob, then alice: two changes.
    assert [t.splitlines()[1] for t in texts] == [f"<@{ALICE}> → <@{BOB}>", f"<@{BOB}> → <@{ALICE}>"]
    assert f"*Shift:* Wed 8 Apr 09:00 {DASH} Thu 9 Apr 09:00 (Europe/Amsterdam)" in texts[0]
    assert f"*Shift:* Thu 9 Apr 09:00 {DASH} Sat 11 Apr 09:00 (Europe/Amsterdam)" in texts[1]
    posted = [r.shift_start for r in rows(runtime) if r.status == "posted"]
    assert posted == [first + timedelta(days=2), first + timedelta(days=3)]


def test_a_handover_missed_while_down_is_posted_late_once_and_an_older_one_skipped(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    first = local("2026-04-06", 9, AMSTERDAM)
    runtime = make_runtime(rotation_config(AMSTERDAM, first - timedelta(days=1), "12h", grace=4))
    step(runtime, first + timedelta(hours=5))  # Monday 09:00 was five hours ago: beyond the grace
    # Down from Monday 14:00 to Tuesday 23:00: three turns passed; only the last, two hours ago, is posted.
    back = first + timedelta(hours=38)
    step(runtime, back)
    step(runtime, back + timedelta(minutes=1))
    [post] = handover_posts(sandbox)
    assert f"Posted late: I was not running at {label(first + timedelta(hours=36), AMSTERDAM)}." in (
        message_text(post)
    )
    assert [(r.shift_start, r.status) for r in rows(runtime)] == [
        (first, "skipped"),
        (first + timedelta(hours=36), "posted"),
    ]


def test_the_shift_job_wakes_itself_at_the_shift_change(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    turn = local("2026-03-29", 21, AMSTERDAM)  # the first evening turn after the clocks moved
    runtime = make_runtime(rotation_config(AMSTERDAM, wall(turn, -timedelta(days=3), AMSTERDAM), "12h"))
    run_cycle(runtime, turn - timedelta(seconds=50))  # the cache as the refresh left it
    scheduler = runtime.scheduler
    posted = threading.Event()
    events: list[JobExecutionEvent] = []

    def seen(event: JobExecutionEvent) -> None:
        events.append(event)
        if handover_posts(sandbox):
            posted.set()

    scheduler.add_listener(seen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    with time_machine.travel(turn - timedelta(seconds=2), tick=True):
        jobs.schedule(scheduler, runtime)
        for job in scheduler.get_jobs():
            if job.id != SHIFTS_JOB:
                job.remove()  # only the shift job: nothing else may post or refresh
        scheduler.start()
        try:
            assert posted.wait(timeout=20), "the shift job did not post the handover"
        finally:
            scheduler.shutdown(wait=True)
    assert all(e.exception is None for e in events)
    [row] = [r for r in rows(runtime) if r.status == "posted"]  # the turn before is beyond the grace
    assert (row.shift_start, row.status, row.late) == (turn, "posted", False)
    assert turn <= row.created_at < turn + timedelta(seconds=5)  # woken at the change, not a minute late
