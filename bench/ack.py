"""Benchmark /oncall ack latency: our bot next to bare apps on each Socket Mode option, in one run.

Run: .venv/bin/python bench/ack.py [--commands 1000] [--rate 20] [--teams 50] [--shifts 10000]
Our bot runs as `python -m app run` (its real process, jobs and all) against a sandbox seeded with
``--teams`` Opsgenie schedules whose timelines hold ``--shifts`` shifts in the cached window; its first
refresh cycle fills the cache. Bare apps whose /oncall handler only acks run next to it, one process and
one SlackSandbox each, one per Socket Mode option (bench/socket_apps.py; an option whose package is not
installed is skipped). Every app gets ``--rate`` commands a second, interleaved. Then each app gets 20
``warning`` and 20 ``refresh_requested`` disconnects, each followed 0.2 s later by a command. The sandboxes
send no pings of their own (Slack's period is not documented; frequent pings would wake the built-in
client's reader and hide its reconnect stall). Prints Markdown tables and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from socket_apps import KINDS, available  # noqa: E402  (bench/socket_apps.py)
from socket_apps import run as run_bare_app  # noqa: E402
from sqlalchemy import create_engine, func, select  # noqa: E402

from app.sandbox import APP_TOKEN, BOT_TOKEN, Sandbox  # noqa: E402
from app.sandbox.opsgenie import Rotation  # noqa: E402
from app.sandbox.slack_web import SlackSandbox  # noqa: E402
from app.store.models import Handover, ShiftRow, SlackUser, TeamState, UsergroupSync  # noqa: E402
from app.store.startup import open_database  # noqa: E402

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


# The footprint's floor: on SIGUSR1 the bot writes the names of the modules it has loaded (BENCH_MODULES);
# a fresh interpreter then imports just those and does nothing else (FLOOR).
SITE_MODULES = """
import os, signal, sys
if os.environ.get("BENCH_MODULES") and "--bare" not in sys.argv:
    def _modules(*_):
        with open(os.environ["BENCH_MODULES"] + ".part", "w", encoding="utf-8") as out:
            out.write("\\n".join(list(sys.modules)))
        os.replace(os.environ["BENCH_MODULES"] + ".part", os.environ["BENCH_MODULES"])
    signal.signal(signal.SIGUSR1, _modules)
"""
FLOOR = """
import importlib, sys
for name in open(sys.argv[1], encoding="utf-8").read().split():
    try:
        importlib.import_module(name)
    except Exception:  # __main__, this bench's sitecustomize
        pass
status = open("/proc/self/status").read().split("VmRSS:")[1].split()[0]
print(len(sys.modules), int(status) / 1024)
"""


def experiment_path(directory: Path, args: argparse.Namespace) -> dict[str, str]:
    """PYTHONPATH with a sitecustomize: the module list (always), the --nodelay / --freeze experiments."""
    code = SITE_MODULES + (SITE_NODELAY if args.nodelay else "") + (SITE_FREEZE if args.freeze else "")
    (directory / "sitecustomize.py").write_text(code, encoding="utf-8")
    return {"PYTHONPATH": str(directory)}


def import_floor(pid: int, listing: Path, cwd: Path) -> tuple[int, float]:
    """Modules the bot ``pid`` has loaded, and the RSS (MiB) of a fresh interpreter importing only those."""
    listing.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while not listing.exists() and time.monotonic() < deadline:  # written aside, then renamed
        time.sleep(0.05)
    done = subprocess.run(
        [sys.executable, "-c", FLOOR, str(listing)], cwd=cwd, capture_output=True, text=True, check=True
    )
    count, rss = done.stdout.split()
    return int(count), float(rss)


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


def wait_for_cycle(database: Path, teams: int) -> int:
    """Wait until the bot's first cycle has cached every timeline and synced every group; the shift count."""
    fetched = select(func.count()).select_from(TeamState).where(TeamState.shifts_fetched_at.is_not(None))
    wait_for_rows(database, fetched, teams, f"cache {teams} timelines in its first cycle")
    synced = select(func.count(func.distinct(UsergroupSync.team)))
    wait_for_rows(database, synced, teams, f"sync {teams} groups in its first cycle")
    return wait_for_rows(database, select(func.count()).select_from(ShiftRow), None, "count its shifts")


def wait_for_rows(database: Path, count: Any, want: int | None, what: str, timeout: float = 120) -> int:
    """Wait until the ``count`` statement on the bot's database gives ``want`` (None: any answer); it."""
    engine = create_engine(f"sqlite:///{database}")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as connection:
                    got = int(connection.scalar(count) or 0)
                if want is None or got == want:
                    return got
            except Exception:  # noqa: S110 - the bot may still be creating its schema
                pass
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise TimeoutError(f"the bot did not {what} within {timeout}s")


def wait_for_handovers(database: Path, teams: int) -> None:
    """Wait until the shift job has handed every team over once: a new database's first tick posts them all.

    That tick (50 handovers, their DMs and reminders: ~2.7 s of CPU on the AMD machine) runs once per new
    database, or when every team changes shift in the same minute; the acks are measured after it, at the
    steady state the targets name (see bench/README.md, "seventh pass").
    """
    done = select(func.count()).select_from(Handover).where(Handover.status.not_in(("claimed", "unknown")))
    wait_for_rows(database, done, teams, f"hand {teams} teams over in its first shift tick")


def wait_for_profiles(database: Path, users: list[str]) -> None:
    """Wait until every asker's profile (users.info, fetched after their first ack) is cached."""
    fetched = select(func.count()).select_from(SlackUser).where(SlackUser.user_id.in_(users))
    wait_for_rows(database, fetched, len(users), f"cache {len(users)} askers' profiles")


def prepare_database(url: str, *, new: bool) -> None:
    """Migrate the bot's database first unless ``new``: start is timed as a restart finds it (no Alembic)."""
    if not new:
        open_database(url).dispose()


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
    rss_before: float = 0.0
    rss_after: float = 0.0
    unanswered: int = 0
    errors: int = 0
    ours: list[float] = field(default_factory=list)
    first_asks: list[float] = field(default_factory=list)  # each asker's first command (profile not cached)
    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    bare: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    bare_hello: dict[str, float] = field(default_factory=dict)
    bare_rss: dict[str, float] = field(default_factory=dict)
    floor: tuple[int, float] = (0, 0.0)  # modules the bot loaded; RSS of importing only them (MiB)
    restarts: list[float] = field(default_factory=list)  # start to hello of each restart after the run
    # (app, reason) → latencies of the command pushed 0.2 s after each disconnect; inf: never acked
    reconnect: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))


APP = "oncall-bot"
LAUNCH = [sys.executable, "-m", "app", "run"]


def drive(
    args: argparse.Namespace, ours: SlackSandbox, bare: dict[str, SlackSandbox], plan: list[Command]
) -> Results:
    """Push every command to every app at ``args.rate`` each, spread over the period; collect the acks."""
    period, sent = 1 / args.rate, []
    slots = [(APP, ours), *bare.items()]
    # The sandboxes timestamp pushes and acks in this process: its own garbage collector must not pause them.
    gc.collect()
    gc.disable()
    start = time.monotonic()
    try:
        for i, (kind, text, user, channel) in enumerate(plan):
            pushed = {}
            for k, (name, slack) in enumerate(slots):
                time.sleep(max(0.0, start + (i + k / len(slots)) * period - time.monotonic()))
                pushed[name] = slack.socket.push_command(text, user_id=user, channel_id=channel)
            sent.append((kind, pushed))
        for name, slack in slots:
            slack.socket.wait_for_ack(sent[-1][1][name], timeout=5)
    finally:
        gc.enable()
    results = Results()
    for kind, pushed in sent:
        for name, slack in slots:
            ack = slack.socket.wait_for_ack(pushed[name], timeout=5)
            if name == APP:
                results.unanswered += not (ack.payload and ack.payload.get("blocks"))
                results.by_kind[kind].append(ack.latency)
                results.ours.append(ack.latency)
            else:
                results.bare[name].append(ack.latency)
    return results


def reconnects(name: str, slack: SlackSandbox, results: Results, rounds: int) -> None:
    """``rounds`` disconnects of each reason, a command 0.2 s after each; its latency from the push."""
    # Slack closes ~10 s after a warning; 5 s here keeps at most five old connections open at once.
    for reason, close_after in (("warning", 5.0), ("refresh_requested", 1.0)):
        for _ in range(rounds):
            began = time.monotonic()
            slack.socket.disconnect(reason, close_after=close_after)
            time.sleep(0.2)
            pushed = time.monotonic()
            envelope = slack.socket.push_command("help", user_id="U0RECONNECT", channel_id=OTHER_CHANNEL)
            try:
                slack.socket.wait_for_ack(envelope, timeout=5)
                results.reconnect[(name, reason)].append(time.monotonic() - pushed)
            except TimeoutError:
                results.reconnect[(name, reason)].append(float("inf"))
            time.sleep(max(0.0, began + 1.0 - time.monotonic()))


def disconnect_all(ours: SlackSandbox, bare: dict[str, SlackSandbox], results: Results, rounds: int) -> None:
    """``reconnects`` on every app at once, one thread each."""
    threads = [
        threading.Thread(target=reconnects, args=(name, box, results, rounds))
        for name, box in [(APP, ours), *bare.items()]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def quiet_sandbox(box: SlackSandbox) -> SlackSandbox:
    """No server pings (see the module docstring)."""
    box.socket.ping_interval = None
    return box


def run(args: argparse.Namespace) -> Results:
    """Start the sandboxes and every app, wait for the cache, drive the load and the disconnects."""
    now = datetime.now(UTC)
    wanted = args.options.split(",") if args.options else KINDS
    kinds = [kind for kind in KINDS if kind in wanted and available(kind)]
    bare_boxes = {
        kind: quiet_sandbox(SlackSandbox(bot_token=BOT_TOKEN, app_token=APP_TOKEN)) for kind in kinds
    }
    sandbox = Sandbox()
    quiet_sandbox(sandbox.slack)
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp, sandbox:
        for box in bare_boxes.values():
            box.start()
        try:
            config_text, users = seed(sandbox, args.teams, args.shifts, now)
            (Path(tmp) / "oncall.toml").write_text(config_text, encoding="utf-8")
            base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSGENIE_"))}
            base |= experiment_path(Path(tmp), args)
            env = base | sandbox.env()
            env |= {"DATABASE_URL": f"sqlite:///{tmp}/oncall.db", "LOG_LEVEL": "WARNING"}
            env |= {"ONCALL_CONFIG": f"{tmp}/oncall.toml", "BENCH_MODULES": f"{tmp}/modules.txt"}
            results = Results()
            for kind, box in bare_boxes.items():  # one at a time, so no start is slowed by another
                bare_env = base | {
                    "BARE_TOKEN": BOT_TOKEN,
                    "BARE_APP_TOKEN": APP_TOKEN,
                    "BARE_URL": box.api_url,
                }
                started = time.monotonic()
                processes.append(
                    subprocess.Popen(
                        [sys.executable, __file__, "--bare", kind], env=bare_env, stdin=subprocess.PIPE
                    )
                )
                box.socket.wait_connected(timeout=60)
                results.bare_hello[kind] = time.monotonic() - started
            prepare_database(env["DATABASE_URL"], new=args.new_database)
            log = (Path(tmp) / "bot.log").open("w")
            started = time.monotonic()
            bot = subprocess.Popen(LAUNCH, cwd=ROOT, env=env, stdout=log, stderr=log)
            processes.append(bot)
            sandbox.slack.socket.wait_connected(timeout=60)
            hello = time.monotonic() - started
            cached = wait_for_cycle(Path(tmp) / "oncall.db", args.teams)
            measured = steady_acks(args, sandbox.slack, bare_boxes, users, Path(tmp) / "oncall.db", bot.pid)
            measured.bare_rss = {kind: rss_mib(p.pid) for kind, p in zip(bare_boxes, processes, strict=False)}
            measured.floor = import_floor(bot.pid, Path(tmp) / "modules.txt", ROOT)
            measured.cached, measured.hello, measured.bare_hello = cached, hello, results.bare_hello
            disconnect_all(sandbox.slack, bare_boxes, measured, args.reconnects)
            # The first start above may compile the .pyc files a checkout lacks: a restart is what an
            # upgrade or a crash finds, timed a few times (one start swings ±0.2 s on a shared machine).
            measured.restarts, processes[-1] = restart_hellos(sandbox.slack, bot, env, log, args.starts)
            log.close()
            measured.errors = sum(
                "ERROR" in line for line in (Path(tmp) / "bot.log").read_text().splitlines()
            )
            return measured
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
            for box in bare_boxes.values():
                box.stop()


def steady_acks(
    args: argparse.Namespace,
    ours: SlackSandbox,
    bare: dict[str, SlackSandbox],
    users: list[tuple[str, str]],
    database: Path,
    pid: int,
) -> Results:
    """The measured commands, once the bot is in its steady state; each asker's first command on its own."""
    wait_for_handovers(database, args.teams)
    # Each asker once, first: a bot that has run a day has their profiles (zone, language) cached; a first
    # ask fetches it after the ack. Those are reported on their own row.
    first = drive(args, ours, bare, commands(users, len(users)))
    wait_for_profiles(database, [user for user, _ in users])
    plan = commands(users, args.commands + WARM_UP)
    drive(args, ours, bare, plan[:WARM_UP])  # first use compiles each query once
    rss_before = rss_mib(pid)
    measured = drive(args, ours, bare, plan[WARM_UP:])
    measured.rss_before, measured.rss_after = rss_before, rss_mib(pid)
    measured.first_asks = first.ours
    return measured


def restart_hellos(
    slack: SlackSandbox, bot: subprocess.Popen[bytes], env: dict[str, str], log: IO[str], times: int
) -> tuple[list[float], subprocess.Popen[bytes]]:
    """Stop the bot (SIGTERM) and start it again ``times`` times: seconds from each start to its hello."""
    hellos = []
    for _ in range(times):
        bot.terminate()
        bot.wait(timeout=30)
        slack.socket.wait_all_closed(timeout=30)
        started = time.monotonic()
        bot = subprocess.Popen(LAUNCH, cwd=ROOT, env=env, stdout=log, stderr=log)
        slack.socket.wait_connected(timeout=60)
        hellos.append(time.monotonic() - started)
    return hellos, bot


def row(name: str, values: list[float]) -> str:
    """One Markdown row: count, p50, p99, max, mean."""
    return (
        f"| {name} | {len(values)} | {percentile(values, 50):.2f} ms | {percentile(values, 99):.2f} ms | "
        f"{max(values) * 1000:.1f} ms | {statistics.fmean(values) * 1000:.2f} ms |"
    )


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
    print(f"Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}")
    flags = (" --nodelay" if args.nodelay else "") + (" --freeze" if args.freeze else "")
    flags += " --new-database" if args.new_database else ""
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
    for kind, values in results.bare.items():
        print(row(f"bare app, {kind}", values))
    print(row("oncall-bot, all kinds", results.ours))
    for kind, values in results.by_kind.items():
        print(row(f"oncall-bot, `{kind}`", values))
    print(row("oncall-bot, each asker's first command (before these; no target)", results.first_asks))
    print("\n| app | after `warning`: p50 / p99 / max | after `refresh_requested`: p50 / p99 / max |")
    print("|---|---:|---:|")
    for name in [*results.bare, APP]:
        cells = []
        for reason in ("warning", "refresh_requested"):
            got = results.reconnect.get((name, reason)) or [float("inf")]
            cells.append(f"{percentile(got, 50):.1f} / {percentile(got, 99):.1f} / {max(got) * 1000:.1f} ms")
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    print("\n| process | start to hello | RSS after the commands |\n|---|---:|---:|")
    schema = "a new database: migrated" if args.new_database else "schema current (a restart)"
    print(
        f"| oncall-bot (`python -m app run`, {schema}) | {results.hello:.2f} s "
        f"| {results.rss_after:.0f} MiB |"
    )
    if results.restarts:
        spread = f"{min(results.restarts):.2f} to {max(results.restarts):.2f}"
        print(
            f"| oncall-bot, {len(results.restarts)} restarts after the run: median "
            f"(range {spread} s) | {statistics.median(results.restarts):.2f} s | |"
        )
    for kind, hello in results.bare_hello.items():
        print(f"| bare app, {kind} | {hello:.2f} s | {results.bare_rss.get(kind, 0):.0f} MiB |")
    modules, floor = results.floor
    print(
        f"| the {modules} modules the bot had loaded, imported by an interpreter doing nothing else "
        f"| | {floor:.0f} MiB |"
    )
    p50, p99, base50 = (
        percentile(results.ours, 50),
        percentile(results.ours, 99),
        percentile(results.bare["default"], 50),
    )
    hello = statistics.median(results.restarts) if results.restarts else results.hello
    started = f"median of {len(results.restarts)} restarts" if results.restarts else "one start"
    worst = max(percentile(results.reconnect[(APP, r)], 99) for r in ("warning", "refresh_requested"))
    checks = [
        (f"p50 {p50:.2f} ms <= 0.3 x bare default {base50:.2f} ms", p50 <= 0.3 * base50),
        (f"p99 {p99:.2f} ms <= 10 ms", p99 <= 10),
        (f"after a disconnect p99 {worst:.1f} ms < 100 ms", worst < 100),
        (
            f"RSS after {args.commands} commands {results.rss_after:.0f} MiB <= 70 MiB",
            results.rss_after <= 70,
        ),
        (f"start to hello {hello:.2f} s ({started}) <= 0.6 s", hello <= 0.6),
        (f"every command answered ({results.unanswered} not)", results.unanswered == 0),
    ]
    print("\nTargets:")
    for text, ok in checks:
        print(f"- {text}: {'met' if ok else 'MISSED'}")
    print(f"(RSS floor: importing the bot's {modules} modules alone takes {floor:.0f} MiB)")
    return all(ok for _, ok in checks)


def main() -> int:
    """Run the benchmark and print the table; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--shifts", type=int, default=10_000)
    parser.add_argument("--reconnects", type=int, default=20, help="disconnects of each reason per app")
    parser.add_argument("--nodelay", action="store_true", help="experiment: TCP_NODELAY in every app")
    parser.add_argument(
        "--freeze", action="store_true", help="experiment: gc.freeze() in the bot once started"
    )
    parser.add_argument(
        "--new-database", action="store_true", help="start the bot on an empty database (it migrates)"
    )
    parser.add_argument("--starts", type=int, default=5, help="restarts timed after the run (0: none)")
    parser.add_argument("--options", help="comma-separated bare apps to run (default: all installed)")
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        run_bare_app(args.bare)
        return 0
    return 0 if report(args, run(args)) else 1


if __name__ == "__main__":
    sys.exit(main())
