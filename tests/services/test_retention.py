"""Retention: old history goes, and nothing that can still be triggered does (no post is made twice)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.config import ConfigError
from app.oncall_config import parse_oncall_config
from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.opsgenie import Rotation
from app.sandbox.world import CHANNEL, SCHEDULE, TEAM_ZONE, USERGROUP_ID, World, teams_toml
from app.services import oncall_view
from app.services.cycle import run_cycle
from app.services.escalation import Mention, handle_mention, retry_pending_pages
from app.services.handover import run_handover
from app.services.retention import prune
from app.store.db import reading
from app.store.models import Escalation, Handover, Notice, OnCallSnapshot, UsergroupSync
from tests.conftest import RuntimeFactory
from tests.slack.test_mentions import ALICE, Clock, new_ts

DAY = timedelta(days=1)


def count(runtime: Runtime, model: type) -> int:
    with reading(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def channel_texts(sandbox: Sandbox, needle: str) -> list[str]:
    return [m["text"] for m in sandbox.slack.messages(CHANNEL) if needle in m["text"]]


def now_answer(runtime: Runtime, now: datetime) -> list[object]:
    with reading(runtime.sessions) as session:
        return list(oncall_view.on_call_now(session, runtime.config, runtime.config.teams, now))


def test_retention_days_defaults_to_30_and_refuses_less_than_15() -> None:
    assert parse_oncall_config(teams_toml(), __file__).retention_days == 30  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="retention_days"):
        parse_oncall_config("retention_days = 3\n" + teams_toml(), __file__)  # type: ignore[arg-type]


def test_old_snapshots_and_syncs_go_and_the_answer_stays_the_same(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime("retention_days = 15\n" + world.config_text)
    start = world.rotation_start + 14 * DAY
    for day in range(0, 70, 2):  # ten weeks: a new person on call every week, the group synced each time
        sandbox.slack.add_usergroup(USERGROUP_ID, handle="data-oncall", users=["U0DAVE00001"])
        run_cycle(runtime, start + day * DAY)
    end = start + 70 * DAY
    run_cycle(runtime, end)
    before = now_answer(runtime, end)
    snapshots, syncs = count(runtime, OnCallSnapshot), count(runtime, UsergroupSync)

    pruned = prune(runtime.sessions, runtime.config.retention_days, end)

    assert pruned.counts["oncall_snapshots"] == snapshots - count(runtime, OnCallSnapshot) > 5
    assert pruned.counts["usergroup_syncs"] == syncs - count(runtime, UsergroupSync) > 10
    with reading(runtime.sessions) as session:
        oldest = session.scalar(select(func.min(OnCallSnapshot.first_seen_at)))
    assert oldest is not None
    assert end - 23 * DAY <= oldest <= end - 15 * DAY  # the snapshot current at the cutoff stays
    assert now_answer(runtime, end) == before
    assert prune(runtime.sessions, 15, end).total == 0  # nothing left to do


def test_a_notice_about_the_current_shift_is_kept_however_old(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    # One long shift (60 days) of someone Slack does not know: told once, at its start.
    start = world.rotation_start
    long = Rotation(name="long", participants=["ghost@corp.example"], start=start, length=60 * DAY)
    sandbox.opsgenie.add_schedule("ghost_schedule", timezone=TEAM_ZONE, rotations=[long])
    runtime = make_runtime("retention_days = 15\n" + world.config_text.replace(SCHEDULE, "ghost_schedule"))
    run_cycle(runtime, start + DAY)
    told = len(channel_texts(sandbox, "ghost@corp.example"))  # not in the group; nobody (mapped) on call
    assert told == 2

    later = start + 40 * DAY  # the notice is 39 days old, the shift still current
    run_cycle(runtime, later)
    prune(runtime.sessions, 15, later)
    run_cycle(runtime, later + timedelta(minutes=5))

    assert len(channel_texts(sandbox, "ghost@corp.example")) == told  # neither is said again
    with reading(runtime.sessions) as session:
        kinds = set(session.scalars(select(Notice.kind)))
    assert {"unmapped", "nobody_on_call"} <= kinds


def test_an_outage_longer_than_the_retention_is_told_once_and_its_recovery_once(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime("retention_days = 15\n" + world.config_text)
    start = world.rotation_start + 14 * DAY
    run_cycle(runtime, start)
    sandbox.opsgenie.down = True
    for minutes in (5, 10, 15, 20):
        run_cycle(runtime, start + timedelta(minutes=minutes))
    assert len(channel_texts(sandbox, "unreachable")) == 1

    later = start + 20 * DAY
    run_cycle(runtime, later)
    prune(runtime.sessions, 15, later)
    run_cycle(runtime, later + timedelta(minutes=5))
    assert len(channel_texts(sandbox, "unreachable")) == 1

    sandbox.opsgenie.down = False
    run_cycle(runtime, later + timedelta(minutes=10))
    prune(runtime.sessions, 15, later + 20 * DAY)
    run_cycle(runtime, later + timedelta(minutes=15))
    assert len(channel_texts(sandbox, "answers again")) == 1


def test_the_current_handover_key_stays_and_old_ones_go(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime("retention_days = 15\n" + world.config_text)
    first = world.rotation_start + 14 * DAY  # a Monday 09:00
    for week in range(6):
        moment = first + week * 7 * DAY + timedelta(minutes=1)
        run_cycle(runtime, moment)
        assert run_handover(runtime, runtime.config.teams[0], moment).status == "posted"
    last = first + 5 * 7 * DAY + timedelta(minutes=1)
    posted = len(sandbox.slack.messages(CHANNEL))

    pruned = prune(runtime.sessions, 15, last + 6 * DAY)

    assert pruned.counts["handovers"] == 4  # the ones older than 15 days
    assert run_handover(runtime, runtime.config.teams[0], last + 6 * DAY).status == "already_posted"
    assert len(sandbox.slack.messages(CHANNEL)) == posted
    assert count(runtime, Handover) == 2


def mention(runtime: Runtime, sandbox: Sandbox, now: datetime) -> int:
    ts = new_ts()
    sandbox.slack.see_message(CHANNEL, ts)
    asked = Mention(f"Ev{ts}", CHANNEL, ALICE, "<@UBOT> page: db down", ts, bot_user_id="UBOT")
    handle_mention(runtime, asked, now)
    retry_pending_pages(runtime, now)
    with reading(runtime.sessions) as session:
        return int(session.scalar(select(func.max(Escalation.id))) or 0)


def test_settled_escalations_go_but_open_alerts_and_the_newest_id_stay(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    clock = Clock(world.rotation_start + 14 * DAY)
    runtime = make_runtime("retention_days = 15\n" + teams_toml(escalate="page"), clock=clock)
    run_cycle(runtime, clock.at)
    ids = [mention(runtime, sandbox, clock.at + timedelta(hours=i)) for i in range(3)]
    with runtime.sessions.begin() as session:  # the first and the newest resolved; the second still open
        for row in session.scalars(select(Escalation).where(Escalation.id.in_([ids[0], ids[2]]))):
            row.closed_at, row.closed_by = clock.at, ALICE
    later = clock.at + 40 * DAY

    pruned = prune(runtime.sessions, 15, later)

    with reading(runtime.sessions) as session:
        left = list(session.scalars(select(Escalation.id).order_by(Escalation.id)))
    assert pruned.counts["escalations"] == 1
    assert left == ids[1:]  # the newest stays (its id is never handed out again), the open alert stays
    assert mention(runtime, sandbox, later) > ids[-1]
