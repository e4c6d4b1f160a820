"""Benchmark the core job against the sandbox: our cycle vs. a naive cron script, 200 teams, 20 ms per call.

Run: .venv/bin/python bench/sync.py [--teams 200] [--latency 0.02] [--resync-teams 200] [--no-naive]
Prints Markdown tables (paste them into bench/README.md), each target with what was measured, and exits
1 when one is missed.

The full resync (every group changed) runs in simulated time: the write pacer's clock is moved by hand
from one pass of the usergroups-deferred job to the next (the times the job asks to be woken at), so a
ten-minute resync takes seconds; its writes are counted per simulated minute against Slack's Tier 2.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from slack_sdk import WebClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.oncall_config import load_oncall_config  # noqa: E402
from app.sandbox import BOT_TOKEN, GENIE_KEY, Sandbox  # noqa: E402
from app.sandbox.opsgenie import Rotation  # noqa: E402
from app.services import cycle, roster  # noqa: E402
from app.services.cycle import run_cycle  # noqa: E402
from app.services.resync import Resync, after_cycle  # noqa: E402
from app.services.usergroups import WritePacer  # noqa: E402
from app.wiring import build_runtime  # noqa: E402

WRITES = {"usergroups.users.update"}


class CountedPool(ThreadPoolExecutor):
    """The cycle's worker pool, adding up the CPU its tasks use (the sandbox serves on other threads)."""

    cpu = 0.0
    lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def counted(*a: Any, **k: Any) -> Any:
            started = time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                with CountedPool.lock:
                    CountedPool.cpu += time.thread_time() - started

        return super().submit(counted, *args, **kwargs)


class PagerCpu:
    """The CPU of the cycle's pager requests (roster.ask), a part of the bot's: the provider's HTTP client."""

    cpu = 0.0
    lock = threading.Lock()
    ask = staticmethod(roster.ask)

    @staticmethod
    def counted(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return PagerCpu.ask(*args, **kwargs)
        finally:
            with PagerCpu.lock:
                PagerCpu.cpu += time.thread_time() - started


def bot_cpu(action: Callable[[], object]) -> tuple[float, float]:
    """Seconds of CPU the bot's own threads spent in ``action`` (the caller's thread and the cycle's
    pool), and how much of it was the pager requests."""
    cycle.ThreadPoolExecutor = CountedPool  # type: ignore[misc]  # bench only: count, change nothing
    roster.ask = PagerCpu.counted  # type: ignore[assignment]
    CountedPool.cpu = PagerCpu.cpu = 0.0
    started = time.thread_time()
    action()
    return time.thread_time() - started + CountedPool.cpu, PagerCpu.cpu


LOOKUPS = {"users.lookupByEmail"}


def seed(sandbox: Sandbox, teams: int, start: datetime) -> str:
    """Create ``teams`` teams (3-person weekly rotations, 2 rotations each) and return the teams file."""
    lines = ['timezone = "Europe/Amsterdam"', "refresh_minutes = 5", ""]
    for t in range(teams):
        emails = []
        for p in range(3):
            user_id = f"U{t:05d}{p:04d}"
            email = f"person{p}.team{t}@corp.example"
            sandbox.slack.add_user(user_id, name=f"p{p}t{t}", email=email)
            emails.append(email)
        channel, group = f"C{t:010d}", f"S{t:010d}"
        sandbox.slack.add_channel(channel, name=f"team-{t}")
        sandbox.slack.add_usergroup(group, handle=f"team{t}-oncall", users=[f"U{t:05d}0000"])
        sandbox.opsgenie.add_schedule(
            f"schedule_{t}",
            rotations=[
                Rotation(name="primary", participants=emails, start=start, length=timedelta(days=7)),
                Rotation(
                    name="secondary",
                    participants=emails[1:] + emails[:1],
                    start=start,
                    length=timedelta(days=7),
                ),
            ],
        )
        lines += [
            "[[teams]]",
            f'name = "team{t}"',
            f'schedule = "schedule_{t}"',
            f'usergroup = "team{t}-oncall"',
            f'channel = "{channel}"',
            'handover = "mon 09:00"',
            "",
        ]
    return "\n".join(lines)


def naive_cycle(sandbox: Sandbox, teams: int, now: datetime) -> None:
    """What a simple cron script does: one team after another, no cache, always write."""
    slack = WebClient(token=BOT_TOKEN, base_url=sandbox.slack.api_url)
    with httpx.Client(
        base_url=sandbox.opsgenie.url, headers={"Authorization": f"GenieKey {GENIE_KEY}"}
    ) as og:
        for t in range(teams):
            answer = og.get(
                f"/v2/schedules/schedule_{t}/on-calls",
                params={
                    "scheduleIdentifierType": "name",
                    "flat": "true",
                    "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            ).json()
            ids = [
                slack.users_lookupByEmail(email=e)["user"]["id"] for e in answer["data"]["onCallRecipients"]
            ]
            slack.usergroups_users_update(usergroup=f"S{t:010d}", users=",".join(ids))


def measure(sandbox: Sandbox, action: Callable[[], object]) -> dict[str, float]:
    """Run ``action`` and count what it cost."""
    sandbox.slack.clear_requests()
    sandbox.opsgenie.clear_requests()
    started = time.perf_counter()
    cpu, pager_cpu = bot_cpu(action)
    seconds = time.perf_counter() - started
    slack = Counter(r.method for r in sandbox.slack.requests())
    measure.methods = dict(slack)  # type: ignore[attr-defined]  # the last run's Slack calls by method
    return {
        "seconds": seconds,
        "bot_cpu": cpu,
        "pager_cpu": pager_cpu,
        "slack": sum(slack.values()),
        "writes": sum(slack[m] for m in WRITES),
        "lookups": sum(slack[m] for m in LOOKUPS),
        "opsgenie": len(sandbox.opsgenie.requests()),
    }


def resync(sandbox: Sandbox, runtime: object, teams: int, now: datetime) -> dict[str, float]:
    """Every group changed: one paced cycle, then the deferred passes; simulated minutes and writes."""
    for t in range(teams):  # someone emptied every group by hand: all of them need a write
        sandbox.slack.add_usergroup(f"S{t:010d}", handle=f"team{t}-oncall", users=[f"U{t:05d}0002"])
    sandbox.slack.clear_requests()
    sandbox.opsgenie.clear_requests()
    ticks = [0.0]
    plan = Resync(WritePacer(clock=lambda: ticks[0]))
    started = time.perf_counter()
    wait = after_cycle(plan, run_cycle(runtime, now, pacer=plan.pacer))  # type: ignore[arg-type]
    stamps = [0.0] * len(sandbox.slack.requests("usergroups.users.update"))
    passes = 0
    while wait is not None:
        ticks[0] += wait.total_seconds()
        done = len(sandbox.slack.requests("usergroups.users.update"))
        plan.run(runtime, now + timedelta(seconds=ticks[0]))  # type: ignore[arg-type]
        stamps += [ticks[0]] * (len(sandbox.slack.requests("usergroups.users.update")) - done)
        passes += 1
        wait = plan.next_pass()
    busiest = max(sum(1 for s in stamps if start <= s < start + 60) for start in stamps)
    return {
        "minutes": (max(stamps) if stamps else 0) / 60,
        "writes": len(stamps),
        "busiest": busiest,
        "passes": passes,
        "lists": len(sandbox.slack.requests("usergroups.list")),
        "pager": len(sandbox.opsgenie.requests()),
        "seconds": time.perf_counter() - started,
    }


def main() -> int:
    """Run the benchmark and print the results table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--resync-teams", type=int, default=200)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive script (minutes at 1,000)")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with Sandbox() as sandbox, tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "oncall.toml"
        config_path.write_text(seed(sandbox, args.teams, now - timedelta(days=30)), encoding="utf-8")
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            **{k.lower(): v for k, v in sandbox.env().items()},
            database_url=f"sqlite:///{tmp}/bench.db",
            oncall_config=config_path,
        )
        runtime = build_runtime(settings, load_oncall_config(config_path))
        sandbox.slack.latency = sandbox.opsgenie.latency = args.latency

        rows = {}
        if not args.no_naive:
            rows["naive cron script, every run"] = measure(
                sandbox, lambda: naive_cycle(sandbox, args.teams, now)
            )
        # Put the groups back as they were so our first cycle has the same work to do.
        for t in range(args.teams):
            sandbox.slack.add_usergroup(f"S{t:010d}", handle=f"team{t}-oncall", users=[f"U{t:05d}0000"])
        rows["oncall-bot, first cycle"] = measure(sandbox, lambda: run_cycle(runtime, now))
        first_calls = measure.methods  # type: ignore[attr-defined]
        # The second cycle records each group's first "unchanged" sync; from the third on, nothing changes.
        rows["oncall-bot, second cycle"] = measure(
            sandbox, lambda: run_cycle(runtime, now + timedelta(minutes=5))
        )
        cpu = time.process_time()
        rows["oncall-bot, steady-state cycle"] = measure(
            sandbox, lambda: run_cycle(runtime, now + timedelta(minutes=10))
        )
        # The sandbox servers run in this process too: process time counts them, the bot's threads do not.
        both_per_team, cpu_per_team, pager_per_team = (
            (time.process_time() - cpu) / args.teams * 1000,
            rows["oncall-bot, steady-state cycle"]["bot_cpu"] / args.teams * 1000,
            rows["oncall-bot, steady-state cycle"]["pager_cpu"] / args.teams * 1000,
        )
        hour = [
            measure(sandbox, lambda m=m: run_cycle(runtime, now + timedelta(minutes=m)))
            for m in range(15, 75, 5)
        ]
        rows["oncall-bot, 12 cycles over the next hour (mean)"] = {
            key: sum(h[key] for h in hour) / len(hour) for key in hour[0]
        }

        sandbox.slack.latency = sandbox.opsgenie.latency = 0.0  # simulated time: no waiting for anything
        full = resync(sandbox, runtime, min(args.resync_teams, args.teams), now + timedelta(minutes=75))

    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"{args.teams} teams, {args.latency * 1000:.0f} ms added per call"
    )
    flags = " --no-naive" if args.no_naive else ""
    print(f"Command: .venv/bin/python bench/sync.py --teams {args.teams} --latency {args.latency:g}{flags}")
    print("\n| run | wall time | Slack calls | Slack writes | lookups | Opsgenie calls | per team |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, row in rows.items():
        print(
            f"| {name} | {row['seconds']:.2f} s | {row['slack']:.0f} | {row['writes']:.0f} "
            f"| {row['lookups']:.0f} | {row['opsgenie']:.1f} | {row['opsgenie'] / args.teams:.2f} |"
        )
    steady, mean = (
        rows["oncall-bot, steady-state cycle"],
        rows["oncall-bot, 12 cycles over the next hour (mean)"],
    )
    calls = ", ".join(f"{method} {n}" for method, n in sorted(first_calls.items(), key=lambda kv: -kv[1]))
    print(f"\nFirst cycle's Slack calls: {calls}.")
    limit = 1.1 * full["writes"] / 20
    print(
        "\n| full resync (simulated time) | groups written | minutes | busiest minute | passes "
        "| usergroups.list | pager calls |\n|---|---:|---:|---:|---:|---:|---:|\n"
        f"| every group changed | {full['writes']:.0f} | {full['minutes']:.1f} "
        f"| {full['busiest']:.0f} writes | {full['passes']:.0f} | {full['lists']:.0f} | {full['pager']:.0f} |"
    )
    # The wall target is for 1,000 teams; fewer teams must not take longer than it.
    wall_target = 3.0 * max(args.teams, 1000) / 1000
    targets = [
        (
            "steady-state CPU per team in the bot's threads <= 1 ms",
            f"{cpu_per_team:.2f} ms (pager requests {pager_per_team:.2f}, the rest "
            f"{cpu_per_team - pager_per_team:.2f}; {both_per_team:.2f} with the in-process sandbox's)",
            cpu_per_team <= 1.0,
        ),
        (
            f"steady cycle, {args.teams} teams at {args.latency * 1000:g} ms, <= {wall_target:g} s wall",
            f"{steady['seconds']:.2f} s",
            steady["seconds"] <= wall_target,
        ),
        (
            "pager calls per team per cycle <= 1 (12 cycles over an hour)",
            f"{mean['opsgenie'] / args.teams:.2f}",
            mean["opsgenie"] / args.teams <= 1,
        ),
        ("Slack calls in a steady cycle: 1", f"{steady['slack']:.0f}", steady["slack"] <= 1),
        (
            "steady state: 0 Slack writes, 0 lookups",
            f"{steady['writes']:.0f}, {steady['lookups']:.0f}",
            not steady["writes"] and not steady["lookups"],
        ),
        (
            f"full resync of {full['writes']:.0f} groups <= 1.1 x groups / 20 a minute = {limit:.1f} min",
            f"{full['minutes']:.1f} min",
            full["minutes"] <= limit,
        ),
        ("full resync: <= 20 writes in any minute", f"{full['busiest']:.0f}", full["busiest"] <= 20),
    ]
    print(f"\n| target | {args.teams} teams | met |\n|---|---|---|")
    for target, measured, met in targets:
        print(f"| {target} | {measured} | {'yes' if met else '**MISSED**'} |")
    misses = [target for target, _, met in targets if not met]
    print("\ntargets: " + ("all met" if not misses else "MISSED: " + "; ".join(misses)))
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
