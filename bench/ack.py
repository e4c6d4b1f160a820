"""Benchmark /oncall ack latency: our bot next to a bare Bolt app, interleaved, through sandbox Socket Mode.

Run: .venv/bin/python bench/ack.py [--commands 1000] [--rate 20] [--teams 50] [--shifts 10000]
Our bot runs as `python -m app run` (its real process, jobs and all) against a sandbox seeded with
``--teams`` Opsgenie schedules whose timelines hold ``--shifts`` shifts in the cached window; its first
refresh cycle fills the cache. A bare Bolt app whose /oncall handler only calls ack() runs in a second
process against a second SlackSandbox. Both get ``--rate`` commands a second, interleaved half a period
apart. Prints Markdown tables (paste them into bench/README.md) and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402

from app.sandbox import APP_TOKEN, BOT_TOKEN, Sandbox  # noqa: E402
from app.sandbox.opsgenie import Rotation  # noqa: E402
from app.sandbox.slack_web import SlackSandbox  # noqa: E402
from app.store.models import ShiftRow, TeamState, UsergroupSync  # noqa: E402

PEOPLE_PER_TEAM = 4
WARM_UP = 12  # unmeasured commands first: two of each kind
WINDOW = timedelta(days=21)  # the roster caches [now - 7 d, now + 14 d]
OTHER_CHANNEL = "C0RANDOM001"
Command = tuple[str, str, str, str]  # kind, text, user id, channel id


# --nodelay / --freeze: what two small changes to the bot's start would give, tried without changing it.
SITE_NODELAY = """
import socket
_connect = socket.create_connection
def _create_connection(*args, **kwargs):
    sock = _connect(*args, **kwargs)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # slack_sdk's client leaves Nagle on
    return sock
socket.create_connection = _create_connection
"""
SITE_FREEZE = """
import gc, sys, threading, time
if "--bare" not in sys.argv:
    def _freeze():
        time.sleep(3)  # started and connected by then
        gc.collect()
        gc.freeze()
    threading.Thread(target=_freeze, daemon=True).start()
"""


def experiment_path(directory: Path, args: argparse.Namespace) -> dict[str, str]:
    """PYTHONPATH with a sitecustomize for the --nodelay / --freeze experiments (empty when neither)."""
    code = (SITE_NODELAY if args.nodelay else "") + (SITE_FREEZE if args.freeze else "")
    if not code:
        return {}
    (directory / "sitecustomize.py").write_text(code, encoding="utf-8")
    return {"PYTHONPATH": str(directory)}


def run_bare_app() -> None:
    """The baseline: a Bolt app over Socket Mode whose /oncall handler only acks. Runs until killed."""
    from slack_bolt import App
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk import WebClient

    app = App(client=WebClient(token=os.environ["BARE_TOKEN"], base_url=os.environ["BARE_URL"]))
    app.command("/oncall")(lambda ack: ack())
    SocketModeHandler(app, os.environ["BARE_APP_TOKEN"]).connect()
    sys.stdin.read()  # the parent closes stdin (or kills us) to stop


def seed(sandbox: Sandbox, teams: int, shifts: int, now: datetime) -> tuple[str, list[tuple[str, str]]]:
    """Teams whose Opsgenie rotations are short enough for ``shifts`` cached shifts in all; the teams file."""
    length = WINDOW * teams / shifts
    lines = ['timezone = "Europe/Amsterdam"', "refresh_minutes = 5", ""]
    users: list[tuple[str, str]] = []
    zones = ("Europe/Amsterdam", "America/Los_Angeles", "Asia/Tokyo", "America/New_York")
    for t in range(teams):
        emails = []
        for p in range(PEOPLE_PER_TEAM):
            user_id, email = f"U{t:05d}{p:04d}", f"person{p}.team{t}@corp.example"
            sandbox.slack.add_user(user_id, name=f"p{p}t{t}", email=email, tz=zones[(t + p) % len(zones)])
            emails.append(email)
            users.append((user_id, f"team{t}"))
        channel, group = f"C{t:010d}", f"S{t:010d}"
        sandbox.slack.add_channel(channel, name=f"team{t}")
        sandbox.slack.add_usergroup(group, handle=f"team{t}-oncall", users=[f"U{t:05d}0000"])
        rotation = Rotation(name="primary", participants=emails, start=now - 2 * WINDOW, length=length)
        sandbox.opsgenie.add_schedule(f"schedule_{t}", rotations=[rotation])
        lines += [
            "[[teams]]",
            f'name = "team{t}"',
            f'schedule = "schedule_{t}"',
            f'usergroup = "{group}"',
            f'channel = "{channel}"',
            "",
        ]
    sandbox.slack.add_channel(OTHER_CHANNEL, name="random")
    return "\n".join(lines), users


def wait_for_cycle(database: Path, teams: int, timeout: float = 120) -> int:
    """Wait until the bot's first cycle has cached every timeline and synced every group; the shift count."""
    engine = create_engine(f"sqlite:///{database}")
    fetched = select(func.count()).select_from(TeamState).where(TeamState.shifts_fetched_at.is_not(None))
    synced = select(func.count(func.distinct(UsergroupSync.team)))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as connection:
                    if connection.scalar(fetched) == teams and connection.scalar(synced) == teams:
                        return int(connection.scalar(select(func.count()).select_from(ShiftRow)) or 0)
            except Exception:  # noqa: S110 - the bot may still be creating its schema
                pass
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise TimeoutError(f"the bot's first cycle did not finish within {timeout}s")


def commands(users: list[tuple[str, str]], n: int) -> list[Command]:
    """(kind, text, user, channel): the six ways people ask, in turn, from rotating users."""
    shapes = [
        ("team channel", lambda team: ("", f"C{int(team[4:]):010d}")),
        ("/oncall <team>", lambda team: (team, OTHER_CHANNEL)),
        ("next <team>", lambda team: (f"next {team}", OTHER_CHANNEL)),
        ("week <team>", lambda team: (f"week {team}", OTHER_CHANNEL)),
        ("me", lambda team: ("me", f"C{int(team[4:]):010d}")),
        ("every team", lambda team: ("", OTHER_CHANNEL)),
    ]
    out = []
    for i in range(n):
        user, team = users[(i * 7) % len(users)]
        kind, shape = shapes[i % len(shapes)]
        text, channel = shape(team)
        out.append((kind, text, user, channel))
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] * 1000


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Results:
    """What one run measured."""

    cached: int = 0
    hello: float = 0.0
    bare_hello: float = 0.0
    rss_before: float = 0.0
    rss_after: float = 0.0
    bare_rss: float = 0.0
    unanswered: int = 0
    errors: int = 0
    ours: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


def drive(args: argparse.Namespace, ours: SlackSandbox, theirs: SlackSandbox, plan: list[Command]) -> Results:
    """Push every command to both apps at ``args.rate`` each, half a period apart; collect the acks."""
    period, sent = 1 / args.rate, []
    # The sandboxes timestamp pushes and acks in this process: its own garbage collector must not pause them.
    gc.collect()
    gc.disable()
    start = time.monotonic()
    try:
        for i, (kind, text, user, channel) in enumerate(plan):
            time.sleep(max(0.0, start + i * period - time.monotonic()))
            envelope = ours.socket.push_command(text, user_id=user, channel_id=channel)
            time.sleep(max(0.0, start + (i + 0.5) * period - time.monotonic()))
            sent.append((kind, envelope, theirs.socket.push_command(text, user_id=user, channel_id=channel)))
        for _, envelope, bare_envelope in sent[-1:]:
            ours.socket.wait_for_ack(envelope, timeout=5)
            theirs.socket.wait_for_ack(bare_envelope, timeout=5)
    finally:
        gc.enable()
    results = Results()
    for kind, envelope, bare_envelope in sent:
        ack = ours.socket.wait_for_ack(envelope, timeout=5)
        results.unanswered += not (ack.payload and ack.payload.get("blocks"))
        results.by_kind[kind].append(ack.latency)
        results.ours.append(ack.latency)
        results.bare.append(theirs.socket.wait_for_ack(bare_envelope, timeout=5).latency)
    return results


def run(args: argparse.Namespace) -> Results:
    """Start the sandboxes and both apps, wait for the cache, drive the load, stop everything."""
    now = datetime.now(UTC)
    with (
        tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp,
        Sandbox() as sandbox,
        SlackSandbox(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as bare_slack,
    ):
        config_text, users = seed(sandbox, args.teams, args.shifts, now)
        (Path(tmp) / "oncall.toml").write_text(config_text, encoding="utf-8")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSGENIE_"))}
        base |= experiment_path(Path(tmp), args)
        env = (
            base
            | sandbox.env()
            | {
                "DATABASE_URL": f"sqlite:///{tmp}/oncall.db",
                "LOG_LEVEL": "WARNING",
                "ONCALL_CONFIG": f"{tmp}/oncall.toml",
            }
        )
        bare_env = base | {
            "BARE_TOKEN": BOT_TOKEN,
            "BARE_APP_TOKEN": APP_TOKEN,
            "BARE_URL": bare_slack.api_url,
        }
        log = (Path(tmp) / "bot.log").open("w")
        started = time.monotonic()
        bare = subprocess.Popen([sys.executable, __file__, "--bare"], env=bare_env, stdin=subprocess.PIPE)
        bot: subprocess.Popen[bytes] | None = None
        try:
            bare_slack.socket.wait_connected(timeout=60)
            bare_hello = time.monotonic() - started
            started = time.monotonic()  # one at a time, so neither start is slowed by the other
            bot = subprocess.Popen(
                [sys.executable, "-m", "app", "run"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
            sandbox.slack.socket.wait_connected(timeout=60)
            hello = time.monotonic() - started
            cached = wait_for_cycle(Path(tmp) / "oncall.db", args.teams)
            plan = commands(users, args.commands + WARM_UP)
            drive(args, sandbox.slack, bare_slack, plan[:WARM_UP])  # first use compiles each query once
            rss_before = rss_mib(bot.pid)
            results = drive(args, sandbox.slack, bare_slack, plan[WARM_UP:])
            results.rss_before, results.rss_after, results.bare_rss = (
                rss_before,
                rss_mib(bot.pid),
                rss_mib(bare.pid),
            )
            results.cached, results.hello, results.bare_hello = cached, hello, bare_hello
        finally:
            for process in (bare, bot):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=30)
            log.close()
        results.errors = sum("ERROR" in line for line in (Path(tmp) / "bot.log").read_text().splitlines())
    return results


def report(args: argparse.Namespace, results: Results) -> bool:
    """Print the Markdown tables; True when the targets are met."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    p50, p99 = percentile(results.ours, 50), percentile(results.ours, 99)
    bare50 = percentile(results.bare, 50)
    print(f"Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}")
    flags = (" --nodelay" if args.nodelay else "") + (" --freeze" if args.freeze else "")
    print(
        f"Command: .venv/bin/python bench/ack.py --commands {args.commands} --rate {args.rate:g} "
        f"--teams {args.teams} --shifts {args.shifts}{flags}"
    )
    print(
        f"Cache: {args.teams} teams, {results.cached} cached shifts; {args.commands} commands to each app, "
        f"{args.rate:g}/s each, interleaved; unanswered: {results.unanswered}; "
        f"bot log errors: {results.errors}"
    )
    print("\n| app | commands | p50 | p99 | max | mean |\n|---|---:|---:|---:|---:|---:|")
    rows = [("bare Bolt app (ack only)", results.bare), ("oncall-bot, all kinds", results.ours)]
    rows += [(f"oncall-bot, `{kind}`", values) for kind, values in results.by_kind.items()]
    for name, values in rows:
        print(
            f"| {name} | {len(values)} | {percentile(values, 50):.1f} ms | {percentile(values, 99):.1f} ms | "
            f"{max(values) * 1000:.1f} ms | {statistics.fmean(values) * 1000:.1f} ms |"
        )
    print(f"\n| process | start to hello | RSS before | RSS after {args.commands} commands |")
    print("|---|---:|---:|---:|")
    print(
        f"| oncall-bot (`python -m app run`) | {results.hello:.2f} s | {results.rss_before:.0f} MiB "
        f"| {results.rss_after:.0f} MiB |"
    )
    print(f"| bare Bolt app | {results.bare_hello:.2f} s | | {results.bare_rss:.0f} MiB |")
    ok = p50 <= 1.2 * bare50 and p99 < 50 and results.unanswered == 0
    print(
        f"\nTargets: p50 at most 1.2 x bare ({p50:.1f} vs {1.2 * bare50:.1f} ms), p99 under 50 ms "
        f"({p99:.1f} ms), every command answered: {'met' if ok else 'MISSED'}"
    )
    return ok


def main() -> int:
    """Run the benchmark and print the table; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--shifts", type=int, default=10_000)
    parser.add_argument("--nodelay", action="store_true", help="experiment: TCP_NODELAY in both apps")
    parser.add_argument(
        "--freeze", action="store_true", help="experiment: gc.freeze() in the bot once started"
    )
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        run_bare_app()
        return 0
    return 0 if report(args, run(args)) else 1


if __name__ == "__main__":
    sys.exit(main())
