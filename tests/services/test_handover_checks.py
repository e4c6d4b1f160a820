"""Before a handover goes wrong: the day-ahead identity check and the shift-changed notice, each said once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from app.domain import Shift
from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, SCHEDULE, TEAM_ZONE, World
from app.services.identity_check import check_incoming_identities
from app.services.roster import refresh_team
from app.services.shift_changes import ChangedWindow, announce_shift_changes, changed_windows
from app.slack.handover_blocks import DASH, message_text, when
from app.store import repo
from tests.conftest import RuntimeFactory
from tests.services.test_handover import BOB, E, config_for, seed_cache, team_of

ALICE_MAIL, BOB_MAIL, CAROL_MAIL, DAVE_MAIL = (f"{n}@corp.example" for n in ("alice", "bob", "carol", "dave"))
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


@pytest.fixture
def runtime(world: World, make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime(config_for())


def channel_texts(sandbox: Sandbox, fragment: str) -> list[str]:
    """Flattened texts of the team-channel messages that contain ``fragment``."""
    return [message_text(m) for m in sandbox.slack.messages(CHANNEL) if fragment in message_text(m)]


def longest_writer_wait(runtime: Runtime, sandbox: Sandbox, work: Callable[[], object]) -> float:
    """Run ``work`` in a thread against a slow Slack; the longest a concurrent writer waited meanwhile."""
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(work()))
    sandbox.slack.latency = 1.0  # a writer blocked by a Slack call would wait about this long
    waits: list[float] = []
    try:
        thread.start()
        while thread.is_alive():
            started = time.monotonic()
            with runtime.sessions.begin() as session:  # e.g. an escalation being recorded meanwhile
                repo.claim_notice(session, "probe", "probe", str(len(waits)), at=E, text="x")
            waits.append(time.monotonic() - started)
            time.sleep(0.02)
    finally:
        thread.join(timeout=30)
        sandbox.slack.latency = 0.0
    assert results, "the work did not finish"
    return max(waits)


# ---- the identity check, 24 h before a handover ---------------------------------------------------


def test_unknown_incoming_email_is_reported_once_a_day_ahead(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - WEEK, weeks=3, people=[ALICE_MAIL, "erin@corp.example"])  # erin takes over at E
    counts = [
        check_incoming_identities(runtime, E - hours) for hours in (timedelta(hours=h) for h in (25, 23))
    ]
    counts += [check_incoming_identities(runtime, E - timedelta(hours=h)) for h in (22, 5, 1)]
    assert counts == [0, 1, 0, 0, 0]
    [notice] = channel_texts(sandbox, "Heads-up")
    assert notice == (
        "Heads-up for the *data* handover on Mon 30 Mar 09:00 (Europe/Amsterdam): "
        "I cannot reach the incoming on-call person in Slack.\n"
        '• erin@corp.example: no Slack user has this email. Fix: add `"erin@corp.example" = "U…"` under '
        "`[people]` in the bot's config, or change the email in the pager to the one Slack knows."
    )
    assert [r.params["email"] for r in sandbox.slack.requests("users.lookupByEmail")].count(
        "erin@corp.example"
    ) == 1
    assert check_incoming_identities(runtime, E + WEEK - timedelta(hours=2)) == 0  # alice next: fine


def test_deactivated_incoming_account_is_found_through_slack(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - WEEK, weeks=3, people=[ALICE_MAIL, BOB_MAIL])
    sandbox.slack.set_user(BOB, deleted=True)  # the cached row says ok, but it is days old
    assert check_incoming_identities(runtime, E - timedelta(hours=3)) == 1
    assert check_incoming_identities(runtime, E - timedelta(hours=2)) == 0
    [notice] = channel_texts(sandbox, "Heads-up")
    assert "• bob@corp.example: the Slack account is deactivated." in notice


def test_everyone_reachable_means_no_notice(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - WEEK, weeks=3)
    assert check_incoming_identities(runtime, E - timedelta(hours=12)) == 0
    assert sandbox.slack.requests("chat.postMessage") == []


def test_a_refused_notice_is_tried_again_next_hour(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - WEEK, weeks=3, people=[ALICE_MAIL, "erin@corp.example"])
    sandbox.slack.fail("chat.postMessage", "not_in_channel")
    assert check_incoming_identities(runtime, E - timedelta(hours=20)) == 0
    assert check_incoming_identities(runtime, E - timedelta(hours=19)) == 1
    assert check_incoming_identities(runtime, E - timedelta(hours=18)) == 0
    assert len(channel_texts(sandbox, "Heads-up")) == 1


def test_a_failing_slack_lookup_is_logged_and_retried(
    sandbox: Sandbox, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    seed_cache(runtime, E - WEEK, weeks=3, people=[ALICE_MAIL, "erin@corp.example"])
    sandbox.slack.fail("users.lookupByEmail", "internal_error")
    assert check_incoming_identities(runtime, E - timedelta(hours=20)) == 0
    assert "identity check for data skipped" in caplog.text
    assert check_incoming_identities(runtime, E - timedelta(hours=19)) == 1


def test_identity_lookups_never_hold_the_database_write_lock(sandbox: Sandbox, runtime: Runtime) -> None:
    shifts = seed_cache(runtime, E - WEEK, weeks=3)  # the Slack mappings are a week old: all looked up again
    three = [Shift(person, E, E + WEEK) for person in (ALICE_MAIL, CAROL_MAIL)]
    with runtime.sessions.begin() as session:
        repo.replace_shifts(session, "data", [*shifts, *three], E - WEEK)  # bob, alice and carol take over
    waited = longest_writer_wait(runtime, sandbox, lambda: check_incoming_identities(runtime, E - DAY / 2))
    assert len(sandbox.slack.requests("users.lookupByEmail")) == 3
    assert waited < 0.5, f"a writer waited {waited:.2f} s for the identity check's Slack lookups"


# ---- where two timelines disagree -----------------------------------------------------------------


def weekly(start: datetime, *people: str) -> list[Shift]:
    """Consecutive 7-day shifts from ``start``."""
    return [Shift(person, start + i * WEEK, start + (i + 1) * WEEK) for i, person in enumerate(people)]


BEFORE = weekly(E - WEEK, ALICE_MAIL, BOB_MAIL, CAROL_MAIL)  # bob's week starts at E
TUESDAY = E + DAY
OVERRIDE = [
    *weekly(E - WEEK, ALICE_MAIL),
    Shift(BOB_MAIL, E, TUESDAY),
    Shift(DAVE_MAIL, TUESDAY, TUESDAY + DAY),
    Shift(BOB_MAIL, TUESDAY + DAY, E + WEEK),
    *weekly(E + WEEK, CAROL_MAIL),
]

WINDOW_CASES = {
    "no change": (BEFORE, list(BEFORE), []),
    "first fetch": ([], BEFORE, []),
    "one-day override": (
        BEFORE,
        OVERRIDE,
        [ChangedWindow(TUESDAY, TUESDAY + DAY, (BOB_MAIL,), (DAVE_MAIL,))],
    ),
    "swap of two weeks": (
        BEFORE,
        weekly(E - WEEK, ALICE_MAIL, CAROL_MAIL, BOB_MAIL),
        [
            ChangedWindow(E, E + WEEK, (BOB_MAIL,), (CAROL_MAIL,)),
            ChangedWindow(E + WEEK, None, (CAROL_MAIL,), (BOB_MAIL,)),  # cut by the end of the fetch
        ],
    ),
    "a second person added": (
        BEFORE,
        [*BEFORE, Shift(DAVE_MAIL, E, E + DAY)],
        [ChangedWindow(E, E + DAY, (BOB_MAIL,), (BOB_MAIL, DAVE_MAIL))],
    ),
    "a gap where nobody is on call": (
        BEFORE,
        [s for s in BEFORE if s.person != BOB_MAIL],
        [ChangedWindow(E, E + WEEK, (BOB_MAIL,), ())],
    ),
}


@pytest.mark.parametrize(("before", "after", "expected"), list(WINDOW_CASES.values()), ids=list(WINDOW_CASES))
def test_changed_windows(before: list[Shift], after: list[Shift], expected: list[ChangedWindow]) -> None:
    assert changed_windows(before, after) == expected


# ---- the shift-changed notice ----------------------------------------------------------------------


def announce(runtime: Runtime, before: list[Shift], after: list[Shift], now: datetime) -> int:
    """What the refresh cycle does after a timeline fetch."""
    return announce_shift_changes(runtime, team_of(runtime), before, after, now)


def test_override_within_the_week_is_announced_once(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - WEEK, weeks=3)  # the Slack mappings
    now = E + timedelta(hours=1)
    assert announce(runtime, BEFORE, OVERRIDE, now) == 1
    assert announce(runtime, BEFORE, OVERRIDE, now + timedelta(minutes=5)) == 0  # the same change, seen again
    assert announce(runtime, OVERRIDE, list(OVERRIDE), now + timedelta(hours=1)) == 0  # the next refresh
    assert channel_texts(sandbox, "Shift change") == [
        f"*Shift change for data* (Europe/Amsterdam): Tue 31 Mar 09:00{DASH}Wed 1 Apr 09:00 "
        "is now <@U0DAVE00001>, was <@U0BOB000001>."
    ]


@pytest.mark.parametrize(
    "now",
    [TUESDAY + DAY + timedelta(minutes=1), TUESDAY - WEEK - timedelta(minutes=1)],
    ids=["already over", "7 days and 1 minute ahead"],
)
def test_changes_in_the_past_or_beyond_seven_days_are_not_announced(
    now: datetime, sandbox: Sandbox, runtime: Runtime
) -> None:
    assert announce(runtime, BEFORE, OVERRIDE, now) == 0
    assert sandbox.slack.requests("chat.postMessage") == []


def test_a_change_cut_by_the_fetch_is_not_repeated_when_its_end_shows_up(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    before = weekly(E - WEEK, ALICE_MAIL, BOB_MAIL, CAROL_MAIL)
    after = weekly(E - WEEK, ALICE_MAIL, BOB_MAIL, DAVE_MAIL)  # dave instead of carol, up to the fetch's end
    now = E + timedelta(days=2)
    assert announce(runtime, before, after, now) == 1
    later_before = weekly(E - WEEK, ALICE_MAIL, BOB_MAIL, CAROL_MAIL, ALICE_MAIL)
    later_after = weekly(E - WEEK, ALICE_MAIL, BOB_MAIL, DAVE_MAIL, ALICE_MAIL)  # now its end is known
    assert announce(runtime, later_before, later_after, now + DAY) == 0
    [notice] = channel_texts(sandbox, "Shift change")
    assert "From Mon 6 Apr 09:00 on, it is now <@U0DAVE00001>, was <@U0CAROL0001>." in notice


def test_a_refused_notice_is_posted_by_the_next_refresh(sandbox: Sandbox, runtime: Runtime) -> None:
    sandbox.slack.fail("chat.postMessage", "channel_not_found")
    assert announce(runtime, BEFORE, OVERRIDE, E) == 0
    # The cache already holds the new timeline: the next refresh reads it again and sees no difference.
    assert announce(runtime, OVERRIDE, list(OVERRIDE), E + timedelta(hours=1)) == 1
    assert announce(runtime, OVERRIDE, list(OVERRIDE), E + timedelta(hours=2)) == 0
    assert channel_texts(sandbox, "Shift change") == [
        f"*Shift change for data* (Europe/Amsterdam): Tue 31 Mar 09:00{DASH}Wed 1 Apr 09:00 "
        "is now <@U0DAVE00001>, was <@U0BOB000001>."
    ]


def test_only_the_refused_one_of_two_notices_is_posted_again(sandbox: Sandbox, runtime: Runtime) -> None:
    swapped = weekly(E - WEEK, ALICE_MAIL, CAROL_MAIL, BOB_MAIL)
    sandbox.slack.fail("chat.postMessage", "channel_not_found")  # the first of the two notices only
    now = E + timedelta(hours=1)
    assert announce(runtime, BEFORE, swapped, now) == 1
    assert announce(runtime, swapped, list(swapped), now + timedelta(hours=1)) == 1
    assert announce(runtime, swapped, list(swapped), now + timedelta(hours=2)) == 0
    texts = channel_texts(sandbox, "Shift change")
    assert len(texts) == 2
    assert "From Mon 6 Apr 09:00 on, it is now <@U0BOB000001>, was <@U0CAROL0001>." in texts[0]
    assert f"Mon 30 Mar 09:00{DASH}Mon 6 Apr 09:00 is now <@U0CAROL0001>, was <@U0BOB000001>." in texts[1]


def test_a_change_undone_before_its_notice_got_out_is_not_announced(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    sandbox.slack.fail("chat.postMessage", "channel_not_found")
    assert announce(runtime, BEFORE, OVERRIDE, E) == 0
    assert announce(runtime, OVERRIDE, list(BEFORE), E + timedelta(hours=1)) == 0  # the override was removed
    assert announce(runtime, BEFORE, list(BEFORE), E + timedelta(hours=2)) == 0
    assert channel_texts(sandbox, "Shift change") == []


def test_a_slow_notice_post_never_holds_the_database_write_lock(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - WEEK, weeks=3)  # a week-old mapping: dave and bob are looked up too
    waited = longest_writer_wait(runtime, sandbox, lambda: announce(runtime, BEFORE, OVERRIDE, E))
    assert waited < 0.5, f"a writer waited {waited:.2f} s for the shift-change notice"
    assert len(channel_texts(sandbox, "Shift change")) == 1


def test_an_override_in_the_pager_is_announced_after_the_refresh(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    now = world.rotation_start + timedelta(days=14, hours=2)  # carol's week has just begun
    first = refresh_team(runtime, team_of(runtime), now)
    assert first.timeline_read
    start = world.rotation_start + timedelta(days=16)
    sandbox.opsgenie.add_override(SCHEDULE, DAVE_MAIL, start, start + DAY)
    later = now + timedelta(hours=1, minutes=1)  # the timeline is re-read hourly
    second = refresh_team(runtime, team_of(runtime), later)
    assert second.timeline_read
    assert announce(runtime, second.shifts_before, second.shifts_after, later) == 1
    assert announce(runtime, second.shifts_before, second.shifts_after, later) == 0
    window = f"{when(start, TEAM_ZONE)}{DASH}{when(start + DAY, TEAM_ZONE)}"
    assert channel_texts(sandbox, "Shift change") == [
        f"*Shift change for data* (Europe/Amsterdam): {window} is now <@U0DAVE00001>, was <@U0CAROL0001>."
    ]


def test_a_refused_notice_is_posted_after_the_next_real_refresh(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    now = world.rotation_start + timedelta(days=14, hours=2)
    first = refresh_team(runtime, team_of(runtime), now)
    assert announce(runtime, first.shifts_before, first.shifts_after, now) == 0  # the first fetch: no news
    start = world.rotation_start + timedelta(days=16)
    sandbox.opsgenie.add_override(SCHEDULE, DAVE_MAIL, start, start + DAY)
    later = now + timedelta(hours=1, minutes=1)
    second = refresh_team(runtime, team_of(runtime), later)
    sandbox.slack.fail("chat.postMessage", "not_in_channel")
    assert announce(runtime, second.shifts_before, second.shifts_after, later) == 0
    third = refresh_team(runtime, team_of(runtime), later + timedelta(hours=1, minutes=1))
    assert third.timeline_read
    assert changed_windows(third.shifts_before, third.shifts_after) == []  # the pager changed nothing since
    assert announce(runtime, third.shifts_before, third.shifts_after, later + timedelta(hours=1)) == 1
    assert announce(runtime, third.shifts_before, third.shifts_after, later + timedelta(hours=2)) == 0
    [notice] = channel_texts(sandbox, "Shift change")
    assert "is now <@U0DAVE00001>, was <@U0CAROL0001>." in notice
