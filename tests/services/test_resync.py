"""A full resync is paced at Slack's write limit and finishes as the limit allows, not cycles later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.opsgenie import Rotation
from app.services.cycle import run_cycle
from app.services.resync import Resync, after_cycle
from app.services.usergroups import WritePacer
from tests.conftest import RuntimeFactory

TEAMS = 12
PER_MINUTE = 5  # Slack's 20 a minute, scaled down so that the test stays small


def seed(sandbox: Sandbox, start: datetime) -> str:
    """TEAMS teams, each with its own weekly rotation, group and channel; the teams file."""
    lines = ['timezone = "UTC"', "refresh_minutes = 5", ""]
    for t in range(TEAMS):
        people = [f"p{p}.t{t}@corp.example" for p in range(2)]
        for p, email in enumerate(people):
            sandbox.slack.add_user(f"U{t:04d}{p:05d}", name=f"p{p}t{t}", email=email)
        sandbox.slack.add_channel(f"C{t:09d}", name=f"team-{t}")
        sandbox.slack.add_usergroup(f"S{t:09d}", handle=f"t{t}-oncall", users=[f"U{t:04d}00001"])
        rotation = Rotation(name="weekly", participants=people, start=start, length=timedelta(days=7))
        sandbox.opsgenie.add_schedule(f"schedule_{t}", rotations=[rotation])
        lines += ["[[teams]]", f'name = "t{t}"', f'schedule = "schedule_{t}"', f'usergroup = "t{t}-oncall"']
        lines += [f'channel = "C{t:09d}"', ""]
    return "\n".join(lines)


def writes(sandbox: Sandbox) -> int:
    return len(sandbox.slack.requests("usergroups.users.update"))


def test_every_group_changed_is_written_at_the_limit_and_done_within_the_time_it_allows(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    runtime: Runtime = make_runtime(seed(sandbox, now - timedelta(days=1)))
    ticks = [0.0]  # the pacer's clock, in seconds: moved by hand, nothing sleeps
    resync = Resync(WritePacer(per_minute=PER_MINUTE, clock=lambda: ticks[0]))
    wait = after_cycle(resync, run_cycle(runtime, now, pacer=resync.pacer))
    written = [(0.0, writes(sandbox))]
    assert written[0][1] == PER_MINUTE
    assert wait == timedelta(seconds=60)  # the next slots free a minute after the first writes

    sandbox.slack.clear_requests()
    sandbox.opsgenie.clear_requests()
    ticks[0] = 30.0  # woken early: no slot is free, so not even the list is read
    assert resync.run(runtime, now) == []
    assert sandbox.slack.requests() == []
    while (wait := resync.next_pass()) is not None:
        ticks[0] += wait.total_seconds()
        before = len(sandbox.slack.requests("usergroups.list"))
        resync.run(runtime, now + timedelta(seconds=ticks[0]))
        assert len(sandbox.slack.requests("usergroups.list")) == before + 1  # one read per pass
        written.append((ticks[0], writes(sandbox) + PER_MINUTE))

    assert sandbox.opsgenie.requests() == []  # passes write from the cache: no pager call
    assert written[-1][1] == TEAMS
    assert [n - m for (_, m), (_, n) in pairwise(written)] == [5, 2]
    finished = written[-1][0] / 60
    assert finished <= 1.1 * TEAMS / PER_MINUTE  # 2 minutes for 12 groups at 5 a minute
    for start, _ in written:  # never more than the limit within any minute
        assert sum(n for t, n in _counts(written) if start <= t < start + 60) <= PER_MINUTE
    members = {g: sandbox.slack.usergroup_members(f"S{g:09d}") for g in range(TEAMS)}
    assert all(users == [f"U{g:04d}00000"] for g, users in members.items())


def _counts(written: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """(time, writes made then) from the running totals."""
    return [(t, n - (written[i - 1][1] if i else 0)) for i, (t, n) in enumerate(written)]
