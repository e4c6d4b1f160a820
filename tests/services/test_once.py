"""Once-only posts whose outcome is unknown (a timeout after Slack took the post, a crash after the claim)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from app.domain import Shift
from app.runtime import Runtime
from app.sandbox import BOT_TOKEN, Sandbox
from app.sandbox.world import CHANNEL, World, teams_toml
from app.services.digests import announce_shift_changes
from app.services.escalation import retry_pending_pages
from app.services.handover import catch_up, run_handover
from app.slack.gateway import SlackGateway
from app.slack.gateway_client import running_retries, single_shot, web_client
from app.stopping import Stopping
from app.store import repo
from tests.conftest import RuntimeFactory
from tests.services.test_escalation import escalate
from tests.services.test_handover import E, config_for, fresh, handover_posts, seed_cache, team_of
from tests.slack.test_mentions import fill_cache, thread

ALICE, BOB, CAROL = "U0ALICE0001", "U0BOB000001", "U0CAROL0001"
STALLS = [pytest.param(0.0, id="connection-dropped"), pytest.param(1.0, id="timed-out")]


def impatient(runtime: Runtime) -> Runtime:
    """The runtime with a Slack gateway that gives up after 0.3 s and a settle delay of 50 ms."""
    url, handlers = runtime.slack.bolt_client.base_url, running_retries(None, Stopping())
    slack = SlackGateway(
        web_client(BOT_TOKEN, url, handlers, timeout=0.3),
        once_client=web_client(BOT_TOKEN, url, single_shot(handlers), timeout=0.3),
    )
    return replace(runtime, slack=slack, settle_seconds=0.05)


@pytest.fixture
def runtime(world: World, make_runtime: RuntimeFactory) -> Runtime:
    return impatient(make_runtime(config_for()))


@pytest.mark.parametrize("stall", STALLS)
def test_a_handover_slack_took_without_answering_is_not_posted_again(
    sandbox: Sandbox, runtime: Runtime, stall: float
) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    fresh(runtime, E)
    sandbox.slack.lose_answer("chat.postMessage", stall=stall)
    outcome = run_handover(runtime, team_of(runtime), E)
    assert outcome.status == "posted"  # read back after the settle delay: Slack had it
    for hours in (1, 2):
        fresh(runtime, E + timedelta(hours=hours))
        assert [o.status for o in catch_up(runtime, E + timedelta(hours=hours))] == ["already_posted"]
    assert len(handover_posts(sandbox)) == 1
    assert len(sandbox.slack.messages(BOB)) == 1  # the DM too


def test_an_unreadable_unknown_handover_is_read_back_later_and_never_doubled(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    fresh(runtime, E)
    sandbox.slack.lose_answer("chat.postMessage")
    sandbox.slack.fail("conversations.history", "internal_error")
    assert run_handover(runtime, team_of(runtime), E).status == "unknown"
    fresh(runtime, E + timedelta(hours=1))
    assert [o.status for o in catch_up(runtime, E + timedelta(hours=1))] == ["late"]  # found, DMs sent
    assert len(handover_posts(sandbox)) == 1
    assert len(sandbox.slack.messages(BOB)) == 1


def test_a_handover_claimed_and_never_posted_is_posted_late_once(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    fresh(runtime, E)
    # The process claims the handover, sends the post and dies: Slack never got the request.
    sandbox.slack.lose_answer("chat.postMessage", act=False)
    sandbox.slack.fail("conversations.history", "internal_error")
    assert run_handover(runtime, team_of(runtime), E).status == "unknown"
    assert handover_posts(sandbox) == []
    fresh(runtime, E + timedelta(hours=1))
    assert [o.status for o in catch_up(runtime, E + timedelta(hours=1))] == ["late"]
    assert [o.status for o in catch_up(runtime, E + timedelta(hours=2))] == ["already_posted"]
    [post] = handover_posts(sandbox)
    assert "Posted late" in str(post["blocks"])


def test_dry_run_says_what_the_real_run_does_for_a_too_old_handover(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    late = E + timedelta(hours=13)  # beyond the 12 h grace
    fresh(runtime, late)
    dry = run_handover(runtime, team_of(runtime), late, dry_run=True)
    real = run_handover(runtime, team_of(runtime), late)
    assert (dry.status, real.status) == ("skipped_too_old", "skipped_too_old")
    assert "Posted late" not in dry.text
    assert sandbox.slack.requests("chat.postMessage") == []


def test_dry_run_of_a_handover_in_flight_says_so_not_posted_late(sandbox: Sandbox, runtime: Runtime) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    fresh(runtime, E)
    assert run_handover(runtime, team_of(runtime), E).status == "posted"
    dry = run_handover(runtime, team_of(runtime), E + timedelta(hours=1), dry_run=True)
    assert dry.status == "already_posted"


def shift_change(runtime: Runtime, hours: int = 30) -> tuple[list[Shift], list[Shift]]:
    """A timeline and the same with tomorrow's shift handed from alice to carol."""
    start, end = E + timedelta(hours=hours), E + timedelta(hours=hours + 24)
    before = [Shift("alice@corp.example", start, end)]
    return before, [Shift("carol@corp.example", start, end)]


def changed_notices(sandbox: Sandbox) -> list[str]:
    return [m["text"] for m in sandbox.slack.messages(CHANNEL) if "carol" in m["text"].lower()]


@pytest.mark.parametrize("stall", STALLS)
def test_a_shift_change_digest_slack_took_without_answering_is_said_once(
    sandbox: Sandbox, runtime: Runtime, stall: float
) -> None:
    seed_cache(runtime, E - timedelta(days=7), weeks=3)
    before, after = shift_change(runtime)
    team = team_of(runtime)
    announce_shift_changes(runtime, team, before, before, E)  # the first read
    announce_shift_changes(runtime, team, before, after, E + timedelta(hours=1))  # the change, seen once
    sandbox.slack.lose_answer("chat.postMessage", stall=stall)
    for minutes in (120, 130, 140, 190, 250):  # stable from the second read on; read back, never twice
        announce_shift_changes(runtime, team, after, after, E + timedelta(minutes=minutes))
    assert len(changed_notices(sandbox)) == 1


def test_a_recovery_notice_whose_post_failed_is_said_on_a_later_cycle(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    from app.services.cycle import run_cycle

    runtime = impatient(make_runtime(world.config_text))
    now = world.rotation_start + timedelta(days=15)
    run_cycle(runtime, now)
    for i in range(3):
        sandbox.opsgenie.fail(500, times=2)
        run_cycle(runtime, now + timedelta(minutes=5 * (i + 1)))
    assert [m for m in sandbox.slack.messages(CHANNEL) if "the pager is unreachable" in m["text"]]
    sandbox.slack.fail("chat.postMessage", "internal_error")  # the recovery notice is refused once
    run_cycle(runtime, now + timedelta(minutes=20))
    assert not [m for m in sandbox.slack.messages(CHANNEL) if "answers again" in m["text"]]
    for minutes in (25, 30):
        run_cycle(runtime, now + timedelta(minutes=minutes))
    assert len([m for m in sandbox.slack.messages(CHANNEL) if "answers again" in m["text"]]) == 1


@pytest.mark.parametrize("stall", STALLS)
def test_an_escalation_reply_slack_took_without_answering_is_not_posted_again(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory, stall: float
) -> None:
    runtime = impatient(make_runtime(teams_toml(escalate="tag")))
    now = E
    fill_cache(runtime, now, {"bob@corp.example": BOB})
    sandbox.slack.lose_answer("chat.postMessage", stall=stall)
    ts = escalate(runtime, sandbox, "data: the pipeline is down", now)
    for minutes in (1, 10, 30):
        retry_pending_pages(runtime, now + timedelta(minutes=minutes))
    assert len(thread(sandbox, ts)) == 1


def test_an_escalation_reply_sent_by_a_process_that_died_is_posted_once(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = impatient(make_runtime(teams_toml(escalate="tag")))
    now = E
    fill_cache(runtime, now, {"bob@corp.example": BOB})
    # The reply went out and the process died before it heard back or recorded it; Slack has it.
    sandbox.slack.lose_answer("chat.postMessage")
    sandbox.slack.fail("conversations.replies", "internal_error")
    ts = escalate(runtime, sandbox, "data: the pipeline is down", now)
    restarted = impatient(make_runtime(teams_toml(escalate="tag")))
    for minutes in (1, 11, 30):
        retry_pending_pages(restarted, now + timedelta(minutes=minutes))
    assert len(thread(sandbox, ts)) == 1
    with restarted.sessions.begin() as session:
        assert repo.latest_snapshot(session, "data") is not None


def test_an_escalation_reply_never_sent_before_a_crash_is_posted_late_once(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = impatient(make_runtime(teams_toml(escalate="tag")))
    now = E
    fill_cache(runtime, now, {"bob@corp.example": BOB})
    sandbox.slack.lose_answer("chat.postMessage", act=False)
    sandbox.slack.fail("conversations.replies", "internal_error")
    ts = escalate(runtime, sandbox, "data: the pipeline is down", now)
    assert thread(sandbox, ts) == []
    for minutes in (1, 11, 30):
        retry_pending_pages(runtime, now + timedelta(minutes=minutes))
    assert len(thread(sandbox, ts)) == 1
