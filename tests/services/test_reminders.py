"""The reminder before a shift: at its moment, at once when that passed unseen, never late or twice."""

from __future__ import annotations

from datetime import timedelta

from app.sandbox import Sandbox
from app.sandbox.world import World
from app.services.reminders import reminders
from tests.conftest import RuntimeFactory
from tests.services.test_shift_handovers import (
    AMSTERDAM,
    BOB,
    CAROL,
    local,
    reminders_to,
    rotation_config,
    step,
    wall,
)

# A 12-hour rotation: alice from Monday 09:00, bob from 21:00, carol from Tuesday 09:00.
MONDAY = local("2026-04-06", 9, AMSTERDAM)
BOB_STARTS = MONDAY + timedelta(hours=12)


def config(remind: str = "1h") -> str:
    return rotation_config(AMSTERDAM, wall(MONDAY, -timedelta(days=3), AMSTERDAM), "12h", remind=remind)


def test_a_reminder_whose_moment_passed_unseen_is_sent_at_once_and_once(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(config())
    started = BOB_STARTS - timedelta(minutes=25)  # the bot starts after 20:00, before bob's shift
    step(runtime, started)
    assert reminders_to(sandbox, BOB) == [
        "Your data shift starts at 21:00 (in 25 min) and runs to Tue 09:00 (Europe/Amsterdam)."
    ]
    restarted = make_runtime(config())  # a restart (or another replica) on the same database
    step(restarted, started + timedelta(minutes=1))
    step(restarted, BOB_STARTS - timedelta(seconds=1))
    assert len(reminders_to(sandbox, BOB)) == 1


def test_no_reminder_once_the_shift_has_begun(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(config())
    step(runtime, BOB_STARTS + timedelta(minutes=2))  # down over the reminder and the start
    assert reminders_to(sandbox, BOB) == []
    # The next shift's reminder still comes at its moment: carol, Tuesday 08:00.
    step(runtime, BOB_STARTS + timedelta(hours=11) - timedelta(minutes=1))
    assert reminders_to(sandbox, CAROL) == []
    step(runtime, BOB_STARTS + timedelta(hours=11))
    assert reminders_to(sandbox, CAROL) == [
        "Your data shift starts at 09:00 (in 1 h) and runs to 21:00 (Europe/Amsterdam)."
    ]


def test_reminders_switched_off_send_nothing(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(config("off"))
    for minutes in (-61, -60, -1):
        step(runtime, BOB_STARTS + timedelta(minutes=minutes))
    assert reminders_to(sandbox, BOB) == []
    assert reminders(runtime, runtime.config.teams[0], BOB_STARTS - timedelta(hours=2)) == []


def test_the_coming_reminders_are_listed_with_their_moments(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(config("30m"))
    now = BOB_STARTS - timedelta(minutes=20)
    step(runtime, now)
    listed = reminders(runtime, runtime.config.teams[0], now)[:3]
    assert [(r.to, r.at, r.sent) for r in listed] == [
        (BOB, BOB_STARTS - timedelta(minutes=30), True),
        (CAROL, BOB_STARTS + timedelta(hours=11, minutes=30), False),
        ("U0ALICE0001", BOB_STARTS + timedelta(hours=23, minutes=30), False),
    ]
