"""Before a handover goes wrong: the day-ahead identity check, said once; where two timelines disagree."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from app.domain import Shift
from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World
from app.services.identity_check import check_incoming_identities
from app.services.shift_changes import ChangedWindow, changed_windows
from app.slack.blocks import message_text
from app.store import repo
from tests.conftest import RuntimeFactory
from tests.services.test_handover import BOB, E, config_for, seed_cache

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
