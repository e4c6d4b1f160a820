"""The core job against the sandbox over real HTTP: pager → cache → usergroup, safely and cheaply."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.opsgenie import Rotation
from app.sandbox.world import CHANNEL, SCHEDULE, USERGROUP_ID, World, last_handover, teams_toml
from app.services.cycle import run_cycle
from app.services.usergroups import WritePacer
from app.slack.gateway import SlackGateway
from app.slack.gateway_client import web_client
from app.store import repo
from app.store.models import OnCallSnapshot, UsergroupSync
from tests.conftest import RuntimeFactory

ALICE, BOB, CAROL, DAVE = "U0ALICE0001", "U0BOB000001", "U0CAROL0001", "U0DAVE00001"
WRITES = ("usergroups.users.update", "usergroups.enable", "usergroups.disable", "usergroups.create")


def cycle(runtime: Runtime, now, **kwargs):
    """Run one cycle and return the single team's report."""
    [report] = run_cycle(runtime, now, **kwargs)
    return report


def notices_in(sandbox: Sandbox, fragment: str) -> list[str]:
    """Texts of the messages posted in the team channel containing ``fragment``."""
    return [m["text"] for m in sandbox.slack.messages(CHANNEL) if fragment in m["text"]]


@pytest.fixture
def runtime(world: World, make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime(world.config_text)


def test_rotation_change_moves_group_in_one_cycle_then_steady_state_is_free(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    now = last_handover(world.rotation_start + timedelta(days=15))  # third week: carol
    assert cycle(runtime, now + timedelta(hours=1)).sync.action == "updated"
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL]

    next_week = now + timedelta(days=7, minutes=1)  # the rotation wraps to alice
    report = cycle(runtime, next_week)
    assert report.refresh.people == ("alice@corp.example",)
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [ALICE]

    sandbox.slack.clear_requests()
    sandbox.opsgenie.clear_requests()
    for minutes in (5, 10, 15):
        assert cycle(runtime, next_week + timedelta(minutes=minutes)).sync.action == "unchanged"
    methods = [r.method for r in sandbox.slack.requests()]
    assert not [m for m in methods if m in WRITES]
    assert "users.lookupByEmail" not in methods
    assert "chat.postMessage" not in methods
    assert len(sandbox.opsgenie.requests()) == 3  # one pager call per team per cycle


def test_two_people_on_call_are_both_in_the_group(sandbox: Sandbox, world: World, runtime: Runtime) -> None:
    secondary = Rotation(
        name="secondary",
        participants=["dave@corp.example"],
        start=world.rotation_start,
        length=timedelta(days=7),
    )
    primary = Rotation(
        name="primary",
        participants=["bob@corp.example"],
        start=world.rotation_start,
        length=timedelta(days=7),
    )
    sandbox.opsgenie.set_rotations(SCHEDULE, [primary, secondary])
    report = cycle(runtime, world.rotation_start + timedelta(days=1))
    assert report.sync.action == "updated"
    assert sorted(sandbox.slack.usergroup_members(USERGROUP_ID)) == [BOB, DAVE]


def test_nobody_on_call_leaves_group_and_says_so_once(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    sandbox.opsgenie.set_rotations(
        SCHEDULE,
        [Rotation(name="empty", participants=[], start=world.rotation_start, length=timedelta(days=7))],
    )
    now = world.rotation_start + timedelta(days=1)
    for minutes in (0, 5, 10):
        assert cycle(runtime, now + timedelta(minutes=minutes)).sync.action == "skipped_empty"
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [DAVE]  # the seeded member stays
    assert len(notices_in(sandbox, "Slack does not allow an empty user group")) == 1
    assert not sandbox.slack.requests("usergroups.users.update")


def test_unmapped_person_is_reported_once_and_the_others_are_synced(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    rotations = [
        Rotation(
            name="p", participants=["bob@corp.example"], start=world.rotation_start, length=timedelta(days=7)
        ),
        Rotation(
            name="s",
            participants=["Zed@Elsewhere.Example"],
            start=world.rotation_start,
            length=timedelta(days=7),
        ),
    ]
    sandbox.opsgenie.set_rotations(SCHEDULE, rotations)
    now = world.rotation_start + timedelta(days=1)
    report = cycle(runtime, now)
    assert report.sync.action == "updated"
    assert report.sync.unmapped == ("zed@elsewhere.example",)
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [BOB]
    cycle(runtime, now + timedelta(minutes=5))
    [notice] = notices_in(sandbox, "zed@elsewhere.example")
    assert "has no Slack account" in notice
    assert "[people]" in notice


@pytest.mark.parametrize(
    ("change", "problem"), [({"deleted": True}, "deactivated"), ({"is_bot": True}, "a bot")]
)
def test_deactivated_or_bot_users_are_not_members(
    sandbox: Sandbox, world: World, runtime: Runtime, change: dict[str, bool], problem: str
) -> None:
    sandbox.slack.set_user(BOB, **change)
    report = cycle(runtime, world.rotation_start + timedelta(days=8))  # bob's week
    assert report.sync.action == "skipped_empty"
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [DAVE]
    assert len(notices_in(sandbox, problem)) == 1


def test_people_map_wins_over_email_lookup(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(world.config_text + '\n[people]\n"bob@corp.example" = "U0DAVE00001"\n')
    cycle(runtime, world.rotation_start + timedelta(days=8))
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [DAVE]
    # The others shown (last and next week) are looked up by email; bob, mapped, is not.
    looked_up = {r.params.get("email") for r in sandbox.slack.requests("users.lookupByEmail")}
    assert looked_up == {"alice@corp.example", "carol@corp.example"}


@pytest.mark.parametrize("fault", ["500", "timeout", "429"])
def test_pager_outage_keeps_group_and_says_stale_once_then_recovered_once(
    sandbox: Sandbox, world: World, runtime: Runtime, fault: str
) -> None:
    now = world.rotation_start + timedelta(days=15)
    cycle(runtime, now)
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL]
    later = now + timedelta(days=7)  # alice's week, but the pager is out
    for i in range(3):
        # The fast provider makes two attempts per cycle; each fault covers exactly those.
        if fault == "timeout":
            sandbox.opsgenie.hang(2.0, times=2)
        else:
            sandbox.opsgenie.fail(int(fault), times=2)
        report = cycle(runtime, later + timedelta(minutes=5 * i))
        assert not report.refresh.ok
        # The first failed cycle is a blip: the group is synced from the cache; then the data is stale.
        assert report.sync.action == ("unchanged" if i == 0 else "stale")
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL]
    assert len(notices_in(sandbox, "the pager is unreachable")) == 1
    assert not notices_in(sandbox, "answers again")

    report = cycle(runtime, later + timedelta(minutes=20))
    assert report.refresh.ok
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [ALICE]
    cycle(runtime, later + timedelta(minutes=25))
    assert len(notices_in(sandbox, "answers again")) == 1
    assert len(notices_in(sandbox, "the pager is unreachable")) == 1


def test_bad_key_is_reported_as_such(sandbox: Sandbox, world: World, runtime: Runtime) -> None:
    sandbox.opsgenie.api_key = "rotated-key"
    report = cycle(runtime, world.rotation_start + timedelta(days=1))
    assert not report.refresh.ok
    assert "rejected the API key" in (report.refresh.error or "")
    assert "sandbox-genie-key" not in (report.refresh.error or "")


def test_slack_429_on_update_is_retried_after_retry_after(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    sandbox.slack.rate_limit("usergroups.users.update", retry_after=1, times=1)
    report = cycle(runtime, world.rotation_start + timedelta(days=1))
    assert report.sync.action == "updated"
    attempts = sandbox.slack.requests("usergroups.users.update")
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [ALICE]


@pytest.mark.parametrize(
    ("error", "sentence"),
    [("permission_denied", "let everyone"), ("plan_upgrade_required", "paid Slack plan")],
)
def test_slack_refusals_get_a_sentence_for_the_admin(
    sandbox: Sandbox, world: World, runtime: Runtime, error: str, sentence: str
) -> None:
    sandbox.slack.fail("usergroups.users.update", error, times=5)
    now = world.rotation_start + timedelta(days=1)
    report = cycle(runtime, now)
    assert report.failed
    assert sentence in report.sync.detail
    cycle(runtime, now + timedelta(minutes=5))
    assert len(notices_in(sandbox, sentence)) == 1


def test_only_configured_usergroups_are_ever_written(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    sandbox.slack.add_usergroup("S0OTHER0001", handle="everyone-else", users=["U0DAVE00001"])
    sandbox.slack.add_channel("C0INFRA0001", name="infra")
    sandbox.opsgenie.add_schedule(
        "infra_schedule",
        rotations=[
            Rotation(
                name="r",
                participants=["dave@corp.example"],
                start=world.rotation_start,
                length=timedelta(days=1),
            )
        ],
    )
    infra = (
        teams_toml().split("[[teams]]")[1].replace('"data"', '"infra"').replace(SCHEDULE, "infra_schedule")
    )
    infra = infra.replace("data-oncall", "infra-oncall").replace(CHANNEL, "C0INFRA0001")
    sandbox.slack.add_usergroup("S0INFRA0001", handle="infra-oncall", users=[ALICE])
    runtime = make_runtime(world.config_text + "\n[[teams]]" + infra)
    for day in range(0, 21, 3):
        run_cycle(runtime, world.rotation_start + timedelta(days=day, hours=1))
    written = {r.params["usergroup"] for r in sandbox.slack.requests() if r.method in WRITES}
    assert written == {USERGROUP_ID, "S0INFRA0001"}
    assert sandbox.slack.usergroup_members("S0OTHER0001") == [DAVE]


def test_unknown_usergroup_fails_that_team_only(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(world.config_text.replace("data-oncall", "no-such-group"))
    report = cycle(runtime, world.rotation_start + timedelta(days=1))
    assert report.refresh.ok
    assert report.failed
    assert "no user group @no-such-group" in report.sync.detail


def test_history_and_sync_records(world: World, runtime: Runtime) -> None:
    start = world.rotation_start
    for day in (1, 2, 8, 9, 15):
        cycle(runtime, start + timedelta(days=day))
    with runtime.sessions.begin() as session:
        snapshots = session.scalars(select(OnCallSnapshot).order_by(OnCallSnapshot.first_seen_at)).all()
        syncs = session.scalars(select(UsergroupSync).order_by(UsergroupSync.id)).all()
    assert [s.people for s in snapshots] == [
        ["alice@corp.example"],
        ["bob@corp.example"],
        ["carol@corp.example"],
    ]
    assert snapshots[0].last_seen_at == start + timedelta(days=2)
    assert [s.result for s in syncs] == ["updated", "unchanged", "updated", "unchanged", "updated"]
    assert syncs[0].before == [DAVE]
    assert syncs[0].after == [ALICE]
    assert syncs[1].at == start + timedelta(days=2)


def test_write_pacer_allows_20_writes_in_any_minute() -> None:
    ticks = [0.0]
    pacer = WritePacer(per_minute=20, clock=lambda: ticks[0])
    assert all(pacer.try_acquire() for _ in range(20))
    assert not pacer.try_acquire()
    assert pacer.wait() == 60.0
    ticks[0] = 59.9  # a token bucket would have let 19 more in by now: 39 in one minute, a 429 storm
    assert not pacer.try_acquire()
    ticks[0] = 60.0
    assert pacer.wait() == 0.0
    assert all(pacer.try_acquire() for _ in range(20))
    assert not pacer.try_acquire()


def test_dry_run_writes_nothing_to_slack(sandbox: Sandbox, world: World, runtime: Runtime) -> None:
    report = cycle(runtime, world.rotation_start + timedelta(days=1), dry_run=True)
    assert report.sync.action == "would_update"
    assert report.sync.after == (ALICE,)
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [DAVE]
    assert not [r for r in sandbox.slack.requests() if r.method in (*WRITES, "chat.postMessage")]


def test_a_cached_user_who_is_gone_is_looked_up_again_at_once(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    now = world.rotation_start + timedelta(days=8)  # bob's week
    cycle(runtime, now)
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [BOB]
    sandbox.slack.set_user(BOB, deleted=True)
    sandbox.slack.add_usergroup(USERGROUP_ID, handle="data-oncall", users=[DAVE])  # someone edited it by hand
    report = cycle(runtime, now + timedelta(minutes=5))  # the day-old cache still says bob is fine
    assert report.sync.action == "failed"
    assert "invalid_users" in report.sync.detail
    lookups = len(sandbox.slack.requests("users.lookupByEmail"))
    report = cycle(runtime, now + timedelta(minutes=10))
    assert len(sandbox.slack.requests("users.lookupByEmail")) == lookups + 1  # asked again at once
    assert report.sync.action == "skipped_empty"
    assert report.sync.unmapped == ("bob@corp.example",)


def test_slow_slack_lookups_never_hold_the_database_write_lock(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    rotations = [
        Rotation(name=f"r{i}", participants=[email], start=world.rotation_start, length=timedelta(days=7))
        for i, email in enumerate(["alice@corp.example", "bob@corp.example", "carol@corp.example"])
    ]
    sandbox.opsgenie.set_rotations(SCHEDULE, rotations)
    now = world.rotation_start + timedelta(days=1)
    refresh = threading.Thread(target=run_cycle, args=(runtime, now))
    sandbox.slack.latency = 0.8  # three lookups, one after another
    refresh.start()
    deadline = time.monotonic() + 10
    # Two lookups answered (the sandbox records a call once it has answered): the third is under way,
    # which is when the old code held the write lock it took while storing the first two.
    while len(sandbox.slack.requests("users.lookupByEmail")) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    with runtime.sessions.begin() as session:  # e.g. an escalation being recorded meanwhile
        repo.claim_notice(session, "data", "probe", "k", at=now, text="x")
    waited = time.monotonic() - started
    refresh.join(timeout=10)
    sandbox.slack.latency = 0.0
    assert len(sandbox.slack.requests("users.lookupByEmail")) == 3
    assert waited < 0.4, f"a writer waited {waited:.2f} s for the cycle's Slack lookups"
    assert sorted(sandbox.slack.usergroup_members(USERGROUP_ID)) == [ALICE, BOB, CAROL]


def test_an_outage_notice_slack_refused_is_said_by_the_next_cycle(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    now = world.rotation_start + timedelta(days=1)
    cycle(runtime, now)
    sandbox.opsgenie.down = True
    cycle(runtime, now + timedelta(minutes=5))
    cycle(runtime, now + timedelta(minutes=10))  # two failed cycles, but only two intervals old
    sandbox.slack.fail("chat.postMessage", "not_in_channel", times=1)
    cycle(runtime, now + timedelta(minutes=15))  # stale now: the notice is due, and Slack refuses it
    assert not notices_in(sandbox, "the pager is unreachable")
    cycle(runtime, now + timedelta(minutes=20))
    cycle(runtime, now + timedelta(minutes=25))
    assert len(notices_in(sandbox, "the pager is unreachable")) == 1
    sandbox.opsgenie.down = False
    cycle(runtime, now + timedelta(minutes=30))
    assert len(notices_in(sandbox, "answers again")) == 1


def test_slack_unreachable_fails_the_sync_with_a_sentence(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    discard = SlackGateway(web_client("xoxb-x", "http://127.0.0.1:9/api/", []))  # the discard port
    [report] = run_cycle(replace(runtime, slack=discard), world.rotation_start + timedelta(days=1))
    assert report.refresh.ok
    assert report.failed
    assert "Slack could not be reached" in report.sync.detail


def test_a_dry_run_does_not_swallow_a_shift_change_notice(
    sandbox: Sandbox, world: World, runtime: Runtime
) -> None:
    now = world.rotation_start + timedelta(days=15, hours=2)  # carol's week
    cycle(runtime, now)
    tomorrow = now + timedelta(days=1)
    sandbox.opsgenie.add_override(SCHEDULE, "dave@corp.example", tomorrow, tomorrow + timedelta(hours=8))
    cycle(runtime, now + timedelta(minutes=61), dry_run=True)  # reads the new timeline, says nothing
    assert not [m for m in sandbox.slack.messages(CHANNEL) if "dave" in m["text"] or DAVE in m["text"]]
    cycle(runtime, now + timedelta(minutes=62))  # the real read sees the change
    cycle(runtime, now + timedelta(minutes=123))  # and the next one finds it stable: the digest
    changed = [m["text"] for m in sandbox.slack.messages(CHANNEL) if DAVE in m["text"] or "dave" in m["text"]]
    assert len(changed) == 1
