"""Three `python -m app run` replicas on one PostgreSQL database through a simulated week, one of them
killed with SIGKILL: every handover posted once, one usergroup write per change, each mention replied to and
paged once, and the leader's place taken within one refresh interval.

The processes' wall clock is moved forward by tests/e2e/clock (time-machine, loaded through PYTHONPATH;
their timeouts and sleeps stay real), so the week passes in a few minutes: the test jumps to just before
each event and waits, in real time, for the replicas to do what is due.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from app.sandbox import Sandbox
from app.sandbox.opsgenie import Rotation
from app.sandbox.world import PEOPLE, TEAM_ZONE, write_config
from app.slack import escalation_buttons
from app.store.db import make_engine, reading, session_factory
from app.store.models import LeaderLease
from tests.conftest import environment_for
from tests.slack.test_mentions import mention, thread, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]

ZONE = ZoneInfo(TEAM_ZONE)
CLOCK_HOOK = Path(__file__).parent / "clock"
REFRESH = timedelta(minutes=5)
TAKEOVER_LIMIT = timedelta(seconds=90)
REPLICAS = 3
SLACK_ID = {email: user_id for user_id, _, email, _ in PEOPLE}
NOBODY = "U0ERIN00001"  # in every group before the first refresh, on call in none


@dataclass(frozen=True)
class TeamSetup:
    name: str
    weekday: str  # handover day, at 09:00 (infra: 15:00) in Amsterdam
    hour: int
    order: tuple[str, ...]  # weekly rotation, from two weeks before the simulated week

    @property
    def schedule(self) -> str:
        return f"{self.name}_schedule"

    @property
    def channel(self) -> str:
        return f"C0{self.name.upper():0<9}"[:11]

    @property
    def usergroup_id(self) -> str:
        return f"S0{self.name.upper():0<9}"[:11]


TEAMS = (
    TeamSetup("data", "mon", 9, ("alice@corp.example", "bob@corp.example", "carol@corp.example")),
    TeamSetup("web", "wed", 9, ("bob@corp.example", "carol@corp.example", "alice@corp.example")),
    TeamSetup("infra", "fri", 15, ("carol@corp.example", "alice@corp.example", "dave@corp.example")),
)
MONDAY = datetime(2026, 12, 7, tzinfo=ZONE)  # the simulated week: no DST change near it
DAY = {"mon": 0, "wed": 2, "fri": 4}


def handover_time(team: TeamSetup, week: int = 0) -> datetime:
    return (MONDAY + timedelta(days=DAY[team.weekday] + 7 * week)).replace(hour=team.hour)


def on_call(team: TeamSetup, at: datetime) -> str:
    """The Slack id of who the team's rotation has on call at ``at``."""
    start = handover_time(team) - timedelta(days=14)
    return SLACK_ID[team.order[int((at - start) / timedelta(days=7)) % len(team.order)]]


class ReplicaClock:
    """The replicas' clock: real time plus an offset kept in a file they all follow."""

    def __init__(self, path: Path, start: datetime) -> None:
        self.path = path
        self.offset = 0.0
        self.jump(start)

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def jump(self, to: datetime) -> None:
        print(f"{time.monotonic():.1f} jump {self.now():%a %H:%M:%S} -> {to.astimezone(UTC):%a %H:%M:%S}")
        offset = (to - datetime.now(UTC)).total_seconds()
        assert offset >= self.offset, "the clock only moves forward"
        self.offset = offset
        # Written aside and renamed into place: a process reading the file mid-write would see it
        # empty, and an empty clock file once sent a replica back to the real date for one poll.
        aside = self.path.with_suffix(".new")
        aside.write_text(f"{offset:.6f}\n", encoding="utf-8")
        os.replace(aside, self.path)
        time.sleep(0.1)  # the processes poll the file every 20 ms


def config_text() -> str:
    tables = []
    for team in TEAMS:
        tables.append(
            f'[[teams]]\nname = "{team.name}"\nschedule = "{team.schedule}"\n'
            f'usergroup = "{team.name}-oncall"\nchannel = "{team.channel}"\n'
            f'handover = "{team.weekday} {team.hour:02d}:00"\nescalate = "page"\n'
        )
    return f'timezone = "{TEAM_ZONE}"\nrefresh_minutes = {REFRESH.seconds // 60}\n\n' + "\n".join(tables)


def seed_week(sandbox: Sandbox) -> None:
    for user_id, handle, email, zone in PEOPLE:
        sandbox.slack.add_user(user_id, name=handle, email=email, real_name=handle.title(), tz=zone)
    sandbox.slack.add_user(NOBODY, name="erin", email="erin@corp.example", real_name="Erin", tz=TEAM_ZONE)
    for team in TEAMS:
        sandbox.slack.add_channel(team.channel, name=f"{team.name}-team")
        sandbox.slack.add_usergroup(
            team.usergroup_id, handle=f"{team.name}-oncall", name=f"{team.name} on-call", users=[NOBODY]
        )
        start = handover_time(team) - timedelta(days=14)
        rotation = Rotation(
            name="weekly", participants=list(team.order), start=start, length=timedelta(days=7)
        )
        sandbox.opsgenie.add_schedule(team.schedule, timezone=TEAM_ZONE, rotations=[rotation])


class Replicas:
    """The three processes, their logs, and the database they share."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []
        self.engine: Engine = make_engine(env["DATABASE_URL"])

    def start(self) -> None:
        for n in range(REPLICAS):
            log = (self.logs / f"replica-{n}.log").open("wb")
            self.processes.append(
                subprocess.Popen([sys.executable, "-m", "app", "run"], env=self.env, stdout=log, stderr=log)
            )

    def leader_pid(self, now: datetime) -> int | None:
        with reading(session_factory(self.engine)) as session:
            row = session.scalars(select(LeaderLease)).first()
        if row is None or row.holder is None or row.expires_at is None or row.expires_at <= now:
            return None
        return int(row.holder.split("/")[1])  # host/pid/random

    def kill(self, pid: int) -> None:
        [process] = [p for p in self.processes if p.pid == pid]
        os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)

    def output(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("replica-*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        self.engine.dispose()


@pytest.fixture
def week(sandbox: Sandbox, tmp_path: Path) -> Iterator[tuple[Replicas, ReplicaClock]]:
    clock = ReplicaClock(tmp_path / "clock", MONDAY.replace(hour=8, minute=58, second=30))
    sandbox.opsgenie.clock = clock.now  # Opsgenie's own "now" (alert times) agrees with the replicas'
    seed_week(sandbox)
    env = environment_for(sandbox, tmp_path, write_config(tmp_path, config_text()))
    env.update(PYTHONPATH=str(CLOCK_HOOK), ONCALL_TEST_CLOCK_FILE=str(clock.path), LOG_LEVEL="DEBUG")
    replicas = Replicas(env, tmp_path)
    try:
        yield replicas, clock
    finally:
        replicas.stop()


def handovers(sandbox: Sandbox, team: TeamSetup) -> list[dict[str, Any]]:
    return [m for m in sandbox.slack.messages(team.channel) if str(m["text"]).startswith("On-call handover")]


def writes(sandbox: Sandbox, team: TeamSetup) -> list[list[str]]:
    """The member lists the replicas wrote to the team's usergroup, in order."""
    calls = sandbox.slack.requests("usergroups.users.update")
    return [
        str(c.params["users"]).split(",")
        for c in calls
        if c.ok and c.params["usergroup"] == team.usergroup_id
    ]


def on_call_reads(sandbox: Sandbox, team: TeamSetup) -> list[datetime]:
    """When (by the replicas' clock) each on-call read of the team's schedule asked about."""
    reads = sandbox.opsgenie.requests(f"/v2/schedules/{team.schedule}/on-calls")
    return [datetime.fromisoformat(r.query["date"].replace("Z", "+00:00")) for r in reads]


def pager_reads(sandbox: Sandbox, team: TeamSetup) -> int:
    """How often the replicas asked the pager about the team: on-call reads and (hourly) timeline reads."""
    on_calls = sandbox.opsgenie.requests(f"/v2/schedules/{team.schedule}/on-calls")
    return len(on_calls) + len(sandbox.opsgenie.requests(f"/v2/schedules/{team.schedule}/timeline"))


def deliver(sandbox: Sandbox, text: str, team: TeamSetup, user: str, retry: bool = False) -> str:
    """``user`` mentions the bot in the team channel; Slack retries an envelope no connection acked."""
    envelope, ts = mention(sandbox, text, channel=team.channel, user=user)
    for _ in range(5):
        try:
            sandbox.slack.socket.wait_for_ack(envelope, timeout=5)
            break
        except TimeoutError:  # sent to a connection that closed (a reconnect, a killed replica)
            envelope = sandbox.slack.socket.redeliver(envelope)
    else:
        pytest.fail(f"no replica acked the mention {text!r}")
    if retry:  # Slack delivers an event again (it thought the ack late): to another connection
        sandbox.slack.socket.redeliver(envelope, retry_reason="timeout")
    return ts


def escalated_once(sandbox: Sandbox, team: TeamSetup, ts: str, replicas: Replicas) -> None:
    """One reply tagging the on-call person and one page (Opsgenie alert), whatever replica got it."""
    deadline = time.monotonic() + 60
    while True:
        messages = [str(m["text"]) for m in thread(sandbox, ts, team.channel)]
        if any(text.startswith("Paged") for text in messages):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"mention {ts} not paged in time; its thread: {messages}\n{replicas.output()}")
        time.sleep(0.05)
    assert len(messages) == 2, messages
    assert sum(text.startswith("Paged") for text in messages) == 1
    assert len([a for a in sandbox.opsgenie.alerts() if str(a["alias"]).endswith(ts)]) == 1


def test_three_replicas_through_a_week_with_the_leader_killed(
    sandbox: Sandbox, week: tuple[Replicas, ReplicaClock]
) -> None:
    replicas, clock = week
    data, web, infra = TEAMS
    replicas.start()
    sandbox.slack.socket.wait_connected(REPLICAS, timeout=60)
    for team in TEAMS:  # the first refresh, by the leader: the groups hold last week's people
        wait_until(lambda t=team: writes(sandbox, t), timeout=60)
    assert replicas.leader_pid(clock.now()) is not None

    def hand_over(team: TeamSetup, week_no: int = 0) -> None:
        at = handover_time(team, week_no)
        clock.jump(at - timedelta(seconds=10))
        wait_until(lambda: len(handovers(sandbox, team)) == week_no + 1, timeout=60)
        clock.jump(at + REFRESH + timedelta(seconds=20))  # the next refresh after the change is due
        wait_until(
            lambda: sandbox.slack.usergroup_members(team.usergroup_id) == [on_call(team, at)], timeout=60
        )

    hand_over(data)
    # Three people (each may page a few times an hour), one envelope delivered twice as Slack retries it.
    users = list(SLACK_ID.values())
    tickets = [
        deliver(sandbox, f"page: warehouse is down ({n})", data, users[n], retry=n == 0) for n in range(3)
    ]
    for ts in tickets:
        escalated_once(sandbox, data, ts, replicas)

    # Kill the leader 45 s before a refresh falls due (and before a tick may run it early): a follower
    # takes over and does that refresh, once.
    last_read = max(on_call_reads(sandbox, data))
    clock.jump(last_read + REFRESH - timedelta(seconds=45))
    # The jump ran every lease out at once: whoever renews or claims first leads; wait for that.
    leader = wait_until(lambda: replicas.leader_pid(clock.now()), timeout=30)
    killed_at, read_before_kill = clock.now(), pager_reads(sandbox, data)
    replicas.kill(leader)
    ts = deliver(sandbox, "page: the dashboards are empty", data, users[3])
    wait_until(lambda: replicas.leader_pid(clock.now()) not in (None, leader), timeout=90)
    taken_over = clock.now()
    # The refresh that fell due: who is on call, or (hourly, instead of that) the whole timeline.
    wait_until(lambda: pager_reads(sandbox, data) > read_before_kill, timeout=90)
    refreshed = clock.now()
    assert taken_over - killed_at <= min(TAKEOVER_LIMIT, REFRESH), replicas.output()
    assert refreshed - killed_at <= TAKEOVER_LIMIT
    escalated_once(sandbox, data, ts, replicas)

    # A mention that only tags, then its Page button pressed three times (a double-click and a second
    # person): the presses land on different replicas (Slack never retries them), and one page goes out.
    ts = deliver(sandbox, "is the nightly load late?", web, users[0])
    [reply] = wait_until(lambda: thread(sandbox, ts, web.channel), timeout=30)
    presses = [
        sandbox.slack.socket.push_block_action(reply, escalation_buttons.PAGE_ACTION, user=user)
        for user in (users[0], users[0], users[1])
    ]
    for envelope in presses:
        sandbox.slack.socket.wait_for_ack(envelope, timeout=10)
    assert len({sandbox.slack.socket.wait_for_ack(e).connection for e in presses}) > 1
    escalated_once(sandbox, web, ts, replicas)
    # The other two presses hear that it was paged already. None is turned away as "busy" because the
    # listener had not yet recorded the reply the button came with: that refusal paged nothing, and when
    # all three presses met it, nothing was paged at all.
    told = lambda: [str(e["text"]) for e in sandbox.slack.ephemerals(web.channel)]  # noqa: E731
    wait_until(lambda: len(told()) == 2, timeout=30)
    assert all("already paged" in text for text in told()), told()

    hand_over(web)
    hand_over(infra)
    hand_over(data, week_no=1)

    for team, count in ((data, 2), (web, 1), (infra, 1)):
        assert len(handovers(sandbox, team)) == count, team.name  # each posted once, none missed
    # One write per change: the first refresh's, then one per shift change (and none for the unchanged).
    assert writes(sandbox, data) == [
        [SLACK_ID["bob@corp.example"]],
        [SLACK_ID["carol@corp.example"]],
        [SLACK_ID["alice@corp.example"]],
    ]
    for team in (web, infra):
        before, after = (
            on_call(team, handover_time(team) - timedelta(hours=1)),
            on_call(team, handover_time(team)),
        )
        assert writes(sandbox, team) == [[before], [after]], team.name
    for team in TEAMS:  # each schedule read at most once per refresh interval across the three replicas
        reads = sorted(on_call_reads(sandbox, team))
        gaps = [later - earlier for earlier, later in pairwise(reads)]
        assert min(gaps) >= REFRESH - timedelta(seconds=30), (team.name, reads)
    assert len(sandbox.opsgenie.alerts()) == 5
