"""Kept /oncall answers are never stale: a sync in another replica, a shift change, the clock, a profile.

Every assertion compares a kept answer with the one the same question gets from the cache afresh (no
memo) at the same instant: the memo may save work, never change a word.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, OTHER_CHANNEL, SCHEDULE, seed
from app.services.cycle import run_cycle
from app.services.slack_users import refresh_user
from app.slack.answer_memo import AnswerMemo
from app.slack.listeners.commands import answer, parse
from app.store.db import reading
from tests.conftest import BotFactory, RuntimeFactory
from tests.db_watch import statements_sent, transactions_begun

NOW = datetime(2025, 3, 5, 10, 37, 20, tzinfo=UTC)  # Wed 11:37:20 in Amsterdam
ALICE, BOB, CAROL, DAVE = "U0ALICE0001", "U0BOB000001", "U0CAROL0001", "U0DAVE00001"
QUESTIONS = [("", CHANNEL), ("next", CHANNEL), ("week", OTHER_CHANNEL), ("me", CHANNEL), ("", OTHER_CHANNEL)]


class Clock:
    """The runtimes' clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def ask(runtime: Runtime, memo: AnswerMemo | None, text: str, user: str, channel: str) -> dict[str, Any]:
    """The ack payload /oncall ``text`` gets, through ``memo`` (None: read afresh)."""
    query = parse(text, [team.name for team in runtime.config.teams])
    with reading(runtime.sessions) as session:
        payload, _ = answer(session, runtime, query, user, channel, runtime.now(), memo)
    return payload


def start(
    sandbox: Sandbox, make_runtime: RuntimeFactory, clock: Clock, *, replicas: int = 1
) -> list[Runtime]:
    """Replicas on one database, its cache filled by a cycle and the askers' profiles by users.info."""
    world = seed(sandbox, NOW)
    sandbox.slack.add_user(
        "U0JAPAN0001", name="kenji", email="kenji@corp.example", tz="Asia/Tokyo", locale="ja-JP"
    )
    runtimes = [make_runtime(world.config_text, clock=clock) for _ in range(replicas)]
    assert not any(report.failed for report in run_cycle(runtimes[-1], NOW))
    for user in (ALICE, CAROL, DAVE, "U0JAPAN0001"):
        refresh_user(runtimes[-1], user)
    return runtimes


def test_a_sync_in_another_replica_shows_in_the_next_answer(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    clock = Clock(NOW)
    here, there = start(sandbox, make_runtime, clock, replicas=2)
    memo = AnswerMemo()
    before = ask(here, memo, "", ALICE, CHANNEL)
    assert ask(here, memo, "", ALICE, CHANNEL) is before  # kept: the same question is answered once
    assert "<@U0DAVE00001>" not in str(before)
    sandbox.opsgenie.add_override(
        SCHEDULE, "dave@corp.example", NOW - timedelta(hours=1), NOW + timedelta(days=1)
    )
    clock.now = NOW + timedelta(seconds=30)  # within the same minute: only the data changed
    assert not any(report.failed for report in run_cycle(there, clock.now))
    after = ask(here, memo, "", ALICE, CHANNEL)
    assert "<@U0DAVE00001>" in str(after)
    assert after == ask(here, None, "", ALICE, CHANNEL)


def test_a_changed_profile_shows_in_the_next_answer(sandbox: Sandbox, make_runtime: RuntimeFactory) -> None:
    clock = Clock(NOW)
    [runtime] = start(sandbox, make_runtime, clock)
    memo = AnswerMemo()
    before = ask(runtime, memo, "me", DAVE, CHANNEL)  # dave@corp.example is in no schedule
    assert "no upcoming shifts" in str(before)
    # Dave's Slack email becomes the pager login his shifts are under; users.info caches it (as the
    # command's after-ack fetch does once the profile is old): the same question, another answer.
    sandbox.slack.set_user(DAVE, email="carol@corp.example")
    refresh_user(runtime, DAVE)
    after = ask(runtime, memo, "me", DAVE, CHANNEL)
    assert after == ask(runtime, None, "me", DAVE, CHANNEL)
    assert "You are on call now for *data*" in str(after)


def instants() -> list[datetime]:
    """Every 7 h 53 min for nine days (a handover, midnights in three zones, staleness), and a second
    either side of minutes the answers' ages tick over, of the handovers and of midnights."""
    found = [NOW + i * timedelta(minutes=473) for i in range(9 * 24 * 60 // 473)]
    found += [NOW + timedelta(minutes=m, seconds=s) for m in (1, 2) for s in (-1, 0, 1)]
    handover = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)  # Mon 09:00 in Amsterdam
    for zone in ("Europe/Amsterdam", "Asia/Tokyo", "America/Los_Angeles"):
        midnight = datetime(2025, 3, 6, tzinfo=ZoneInfo(zone)).astimezone(UTC)
        found += [midnight + timedelta(days=d, seconds=s) for d in (0, 1) for s in (-1, 1)]
    found += [handover + timedelta(days=d, seconds=s) for d in (-7, 0) for s in (-1, 0, 1)]
    found += [NOW + timedelta(minutes=10, seconds=s) for s in (-1, 0, 1)]  # stale 10 min after the cycle
    return sorted(t for t in found if t >= NOW)


def test_kept_answers_read_as_fresh_ones_at_every_instant(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    clock = Clock(NOW)
    [runtime] = start(sandbox, make_runtime, clock)
    memo = AnswerMemo()
    kept = 0
    for at in instants():
        clock.now = at
        for user in (ALICE, DAVE, "U0JAPAN0001"):
            for text, channel in QUESTIONS:
                via_memo = ask(runtime, memo, text, user, channel)
                assert via_memo == ask(runtime, None, text, user, channel), (at, user, text, channel)
                kept += via_memo is ask(runtime, memo, text, user, channel)
    assert kept > 0.9 * len(instants()) * 3 * len(QUESTIONS)  # and the second asking was kept


def test_each_reader_keeps_their_own_language(sandbox: Sandbox, make_runtime: RuntimeFactory) -> None:
    clock = Clock(NOW)
    [runtime] = start(sandbox, make_runtime, clock)
    memo = AnswerMemo()
    japanese = ask(runtime, memo, "", "U0JAPAN0001", CHANNEL)
    english = ask(runtime, memo, "", ALICE, CHANNEL)
    assert "現在のオンコール担当" in str(japanese)
    assert "On call" in str(english)
    assert ask(runtime, memo, "", "U0JAPAN0001", CHANNEL) is japanese


def cache_reads(runtime: Runtime) -> AbstractContextManager[list[str]]:
    """The statements that read the roster cache (shifts, snapshots, team states) while the block runs."""
    return statements_sent(runtime, "FROM shifts", "FROM oncall_snapshots", "FROM team_state")


def test_other_readers_and_a_later_minute_get_the_kept_values_rendered_afresh(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    clock = Clock(NOW)
    [runtime] = start(sandbox, make_runtime, clock)
    memo = AnswerMemo()
    questions = [q for q in QUESTIONS if q[0] != "me"]  # `me` is the asker's own: kept per asker
    for text, channel in questions:
        ask(runtime, memo, text, ALICE, channel)
    clock.now = NOW + timedelta(minutes=1, seconds=5)  # the ages shown ("1 min ago") have ticked over
    with cache_reads(runtime) as found:
        # Other zones and a language; and the first reader again, a minute on: renderings, not reads.
        kept = {
            (user, text, channel): ask(runtime, memo, text, user, channel)
            for user in (DAVE, "U0JAPAN0001", ALICE)
            for text, channel in questions
        }
    assert found == []
    for (user, text, channel), payload in kept.items():
        assert payload == ask(runtime, None, text, user, channel), (user, text, channel)
    assert "現在のオンコール担当" in str(kept[("U0JAPAN0001", "", CHANNEL)])


def test_every_team_state_is_read_once_for_every_asker_of_me(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    clock = Clock(NOW)
    here, there = start(sandbox, make_runtime, clock, replicas=2)
    memo = AnswerMemo()
    ask(here, memo, "me", ALICE, CHANNEL)
    with cache_reads(here) as found:
        mine = {user: ask(here, memo, "me", user, CHANNEL) for user in (CAROL, DAVE)}
    assert [s for s in found if "FROM team_state" in s] == []  # read for alice, kept for the others
    assert mine == {user: ask(here, None, "me", user, CHANNEL) for user in (CAROL, DAVE)}
    # Another replica's refresh writes the states (a failing pager): the next `me` reads them again.
    sandbox.opsgenie.fail(500, times=50)
    clock.now = NOW + timedelta(minutes=11)  # stale by then, and the refresh failed
    run_cycle(there, clock.now)
    with cache_reads(here) as found:
        again = ask(here, memo, "me", CAROL, CHANNEL)
    assert [s for s in found if "FROM team_state" in s] != []
    assert again == ask(here, None, "me", CAROL, CHANNEL)


def test_a_repeat_askers_profile_is_read_once_until_a_profile_changes(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    clock = Clock(NOW)
    [runtime] = start(sandbox, make_runtime, clock)
    memo = AnswerMemo()
    ask(runtime, memo, "", "U0JAPAN0001", CHANNEL)
    with statements_sent(runtime, "FROM slack_users") as profile_reads:
        again = ask(runtime, memo, "", "U0JAPAN0001", CHANNEL)
        assert profile_reads == []  # the zone and language of the asker, as read a moment ago
        # Their Slack time zone changes; users.info caches it (the after-ack fetch): read anew.
        sandbox.slack.set_user("U0JAPAN0001", tz="America/Los_Angeles")
        refresh_user(runtime, "U0JAPAN0001")
        moved = ask(runtime, memo, "", "U0JAPAN0001", CHANNEL)
    assert profile_reads != []
    assert moved != again
    assert moved == ask(runtime, None, "", "U0JAPAN0001", CHANNEL)
    assert "America/Los_Angeles" in str(moved)


def acked(sandbox: Sandbox, text: str, user: str, channel: str = CHANNEL) -> dict[str, Any]:
    """The payload of the ack the running bot sends for ``/oncall text``."""
    envelope = sandbox.slack.socket.push_command(text, user_id=user, channel_id=channel)
    payload = sandbox.slack.socket.wait_for_ack(envelope, timeout=3).payload
    assert payload is not None, "the ack carried no answer"
    return payload


def test_a_repeat_question_is_acked_from_the_memo_without_a_transaction(
    sandbox: Sandbox, make_bot: BotFactory
) -> None:
    world = seed(sandbox, NOW)
    bot = make_bot(world.config_text, clock=Clock(NOW))
    assert not any(report.failed for report in run_cycle(bot.runtime, NOW))
    for user in (ALICE, DAVE):
        refresh_user(bot.runtime, user)
    questions = [*QUESTIONS, ("help", CHANNEL)]
    first = {(text, channel): acked(sandbox, text, ALICE, channel) for text, channel in questions}
    with transactions_begun(bot.runtime) as begun:
        again = {(text, channel): acked(sandbox, text, ALICE, channel) for text, channel in questions}
    assert again == first
    # Every kept answer took one statement and no BEGIN; `help` (never kept) reads only the kept profile.
    assert begun == []
    # A profile changed by users.info (as the after-ack fetch writes it): the kept `me` is not given.
    before = acked(sandbox, "me", DAVE)
    assert "no upcoming shifts" in str(before)
    sandbox.slack.set_user(DAVE, email="carol@corp.example")
    refresh_user(bot.runtime, DAVE)
    with transactions_begun(bot.runtime) as begun:
        after = acked(sandbox, "me", DAVE)
    assert begun != []
    assert "You are on call now for *data*" in str(after)


def test_another_reader_gets_the_kept_values_rendered_without_a_transaction(
    sandbox: Sandbox, make_bot: BotFactory
) -> None:
    world = seed(sandbox, NOW)
    bot = make_bot(world.config_text, clock=Clock(NOW))
    assert not any(report.failed for report in run_cycle(bot.runtime, NOW))
    for user in (ALICE, DAVE):
        refresh_user(bot.runtime, user)
    questions = [q for q in QUESTIONS if q[0] != "me"]  # `me` is the asker's own
    for text, channel in questions:
        acked(sandbox, text, ALICE, channel)
    acked(sandbox, "help", DAVE)  # dave's profile is read (and kept) once
    with transactions_begun(bot.runtime) as begun:
        kept = {(text, channel): acked(sandbox, text, DAVE, channel) for text, channel in questions}
    assert begun == []  # dave's zone is another: each answer is rendered anew, from the kept values
    for (text, channel), payload in kept.items():
        with reading(bot.runtime.sessions) as session:
            query = parse(text, [team.name for team in bot.runtime.config.teams])
            fresh, _ = answer(session, bot.runtime, query, DAVE, channel, NOW)
        assert payload == fresh, (text, channel)
    assert "America/Los_Angeles" in str(kept[("", CHANNEL)])
