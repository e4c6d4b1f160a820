"""Shift changes as one digest per team: told once, once stable, at most hourly, pinging nobody replaced."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.domain import Shift
from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.opsgenie import Rotation
from app.sandbox.world import CHANNEL, ROTATION, SCHEDULE, World
from app.services.cycle import run_cycle
from app.services.digests import announce_shift_changes
from app.slack.person_notices import DASH
from tests.conftest import RuntimeFactory
from tests.services.test_handover import E, config_for, seed_cache, team_of
from tests.services.test_handover_checks import (
    ALICE_MAIL,
    BEFORE,
    CAROL_MAIL,
    DAVE_MAIL,
    DAY,
    OVERRIDE,
    TUESDAY,
    WEEK,
    channel_texts,
    longest_writer_wait,
    weekly,
)
from tests.services.test_shift_handovers import local

DAVE = "U0DAVE00001"
HOUR = timedelta(hours=1)
# The one-day override: dave takes bob's Tuesday (bob's name, not a mention: he was merely replaced).
OVERRIDE_LINE = f"• Tue 31 Mar 09:00{DASH}Wed 1 Apr 09:00: bob \u2192 <@{DAVE}>"


@pytest.fixture
def runtime(world: World, make_runtime: RuntimeFactory) -> Runtime:
    runtime = make_runtime(config_for())
    seed_cache(runtime, E - WEEK, weeks=3)  # the Slack mappings (a week old: names are looked up again)
    return runtime


def read(runtime: Runtime, previous: list[Shift], timeline: list[Shift], now: datetime) -> int:
    """What the refresh cycle does after a timeline read: ``previous`` is the cache until then."""
    return announce_shift_changes(runtime, team_of(runtime), previous, timeline, now)


def digests(sandbox: Sandbox) -> list[str]:
    return channel_texts(sandbox, "Shift changes for data")


def test_a_change_is_told_once_when_two_reads_agree(sandbox: Sandbox, runtime: Runtime) -> None:
    now = E + HOUR
    assert read(runtime, BEFORE, list(BEFORE), now) == 0  # the first read: the channel knows this week
    assert read(runtime, BEFORE, OVERRIDE, now + HOUR) == 0  # seen once: maybe still being edited
    assert digests(sandbox) == []
    assert read(runtime, OVERRIDE, list(OVERRIDE), now + 2 * HOUR) == 1
    assert read(runtime, OVERRIDE, list(OVERRIDE), now + 3 * HOUR) == 0
    assert digests(sandbox) == [
        f"*Shift changes for data* (Europe/Amsterdam), the coming week:\n{OVERRIDE_LINE}"
    ]
    [post] = [m for m in sandbox.slack.messages(CHANNEL) if m["text"].startswith("Shift changes")]
    assert post["text"] == f"Shift changes for data: Tue 31 Mar 09:00{DASH}Wed 1 Apr 09:00: bob \u2192 dave"


def test_a_change_reverted_before_it_was_told_is_never_told(sandbox: Sandbox, runtime: Runtime) -> None:
    assert read(runtime, BEFORE, list(BEFORE), E) == 0
    assert read(runtime, BEFORE, OVERRIDE, E + HOUR) == 0
    assert read(runtime, OVERRIDE, list(BEFORE), E + 2 * HOUR) == 0  # the override was removed again
    assert read(runtime, BEFORE, list(BEFORE), E + 3 * HOUR) == 0
    assert sandbox.slack.requests("chat.postMessage") == []


def test_an_edit_between_two_reads_waits_for_the_final_form(sandbox: Sandbox, runtime: Runtime) -> None:
    longer = [*weekly(E - WEEK, ALICE_MAIL), *OVERRIDE[1:2], Shift(DAVE_MAIL, TUESDAY, TUESDAY + 2 * DAY)]
    longer += [Shift("bob@corp.example", TUESDAY + 2 * DAY, E + WEEK), *weekly(E + WEEK, CAROL_MAIL)]
    assert read(runtime, BEFORE, list(BEFORE), E) == 0
    assert read(runtime, BEFORE, OVERRIDE, E + HOUR) == 0
    assert read(runtime, OVERRIDE, longer, E + 2 * HOUR) == 0  # dave's day became two: not stable yet
    assert read(runtime, longer, list(longer), E + 3 * HOUR) == 1
    [digest] = digests(sandbox)
    assert f"• Tue 31 Mar 09:00{DASH}Thu 2 Apr 09:00: bob \u2192 <@{DAVE}>" in digest


def test_at_most_one_digest_an_hour_and_each_change_told_once(sandbox: Sandbox, runtime: Runtime) -> None:
    swapped = weekly(E - WEEK, ALICE_MAIL, "bob@corp.example", DAVE_MAIL)  # dave takes carol's week too
    both = [s for s in OVERRIDE if s.start < E + WEEK] + swapped[2:]
    assert read(runtime, BEFORE, list(BEFORE), E) == 0
    assert read(runtime, BEFORE, OVERRIDE, E + HOUR) == 0
    assert read(runtime, OVERRIDE, list(OVERRIDE), E + 2 * HOUR) == 1
    later = E + 2 * HOUR + timedelta(minutes=5)
    assert read(runtime, OVERRIDE, both, later) == 0
    assert read(runtime, both, list(both), later + timedelta(minutes=30)) == 0  # stable, but within the hour
    assert read(runtime, both, list(both), E + 3 * HOUR) == 1
    first, second = digests(sandbox)
    assert OVERRIDE_LINE in first
    assert OVERRIDE_LINE not in second  # told already
    assert second.splitlines()[1:] == [f"• from Mon 6 Apr 09:00 on: carol \u2192 <@{DAVE}>"]


@pytest.mark.parametrize(
    "now",
    [TUESDAY + DAY + timedelta(minutes=1), TUESDAY - WEEK - timedelta(minutes=1)],
    ids=["already over", "7 days and 1 minute ahead"],
)
def test_changes_in_the_past_or_beyond_seven_days_are_not_told(
    now: datetime, sandbox: Sandbox, runtime: Runtime
) -> None:
    assert read(runtime, BEFORE, list(BEFORE), now) == 0
    assert read(runtime, BEFORE, OVERRIDE, now) == 0
    assert read(runtime, OVERRIDE, list(OVERRIDE), now + HOUR) == 0
    assert sandbox.slack.requests("chat.postMessage") == []


def test_a_refused_digest_is_posted_by_the_next_read(sandbox: Sandbox, runtime: Runtime) -> None:
    read(runtime, BEFORE, list(BEFORE), E)
    read(runtime, BEFORE, OVERRIDE, E + HOUR)
    sandbox.slack.fail("chat.postMessage", "channel_not_found")
    assert read(runtime, OVERRIDE, list(OVERRIDE), E + 2 * HOUR) == 0
    assert read(runtime, OVERRIDE, list(OVERRIDE), E + 3 * HOUR) == 1
    assert read(runtime, OVERRIDE, list(OVERRIDE), E + 4 * HOUR) == 0
    assert len(digests(sandbox)) == 1


def test_a_slow_digest_never_holds_the_database_write_lock(sandbox: Sandbox, runtime: Runtime) -> None:
    read(runtime, BEFORE, list(BEFORE), E)
    read(runtime, BEFORE, OVERRIDE, E + HOUR)
    waited = longest_writer_wait(runtime, sandbox, lambda: read(runtime, OVERRIDE, OVERRIDE, E + 2 * HOUR))
    assert waited < 0.5, f"a writer waited {waited:.2f} s for the digest"
    assert len(digests(sandbox)) == 1


def test_one_digest_for_an_override_that_changes_three_shifts(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    """Through the pager: a 12-hour rotation, one override over three shifts, the real refresh cycle."""
    monday = local("2026-04-06", 9, "Europe/Amsterdam")
    twelve = Rotation("twelve", list(ROTATION), monday - 3 * DAY, timedelta(hours=12))
    sandbox.opsgenie.set_rotations(SCHEDULE, [twelve])
    runtime = make_runtime(world.config_text)
    now = monday + 2 * HOUR
    run_cycle(runtime, now)  # the first read
    override_start = monday + DAY  # Tuesday 09:00 to Wednesday 21:00: three 12-hour shifts
    sandbox.opsgenie.add_override(SCHEDULE, DAVE_MAIL, override_start, override_start + timedelta(hours=36))
    for minutes in (5, 61, 122, 183, 244):  # the timeline is read again hourly
        run_cycle(runtime, now + timedelta(minutes=minutes))
    [digest] = digests(sandbox)
    lines = digest.splitlines()[1:]
    assert lines == [
        f"• Tue 7 Apr 09:00{DASH}21:00: carol \u2192 <@{DAVE}>",
        f"• Tue 7 Apr 21:00{DASH}Wed 8 Apr 09:00: alice \u2192 <@{DAVE}>",
        f"• Wed 8 Apr 09:00{DASH}21:00: bob \u2192 <@{DAVE}>",
    ]
    assert [m for m in sandbox.slack.messages(CHANNEL) if "U0ALICE0001" in str(m.get("blocks"))] == []
