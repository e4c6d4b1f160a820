"""Benchmark several replicas on PostgreSQL: /oncall ack latency and sync cycle time with 1 and 3 replicas.

Run: .venv/bin/python bench/replicas.py --database-url postgresql+psycopg://USER@HOST:PORT/postgres
     [--replicas 1 3] [--teams 50] [--shifts 2000] [--commands 600] [--rate 20] [--cycles 5]
(`.ci/postgres start DIR` prints such a URL for a throwaway cluster.) For each replica count the script
makes a fresh database on that server, seeds a sandbox with ``--teams`` Opsgenie schedules, starts that many
`python -m app run` processes and waits for the first cycle; then it sends ``--commands`` slash commands at
``--rate`` a second (the sandbox spreads them over the replicas' Socket Mode connections, as Slack does)
and measures envelope → ack, and lets ``--cycles`` more refresh cycles run (the processes' clock is moved
one refresh interval at a time by tests/e2e/clock, so no cycle is waited for in real time), reading each
cycle's duration from the leader's log. Prints a Markdown table and exits 1 when a target is missed: ack p99
under 50 ms whatever the count, and one pager read per team per cycle across all replicas.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.sandbox import Sandbox  # noqa: E402
from app.store.models import UsergroupSync  # noqa: E402
from bench.ack import WARM_UP, commands, percentile, seed  # noqa: E402

CLOCK_HOOK = ROOT / "tests" / "e2e" / "clock"
REFRESH = timedelta(minutes=5)  # bench.ack.seed's teams file
CYCLE_LINE = re.compile(r"^(\S+ \S+) INFO app\.jobs: cycle: \d+ team\(s\) in ([\d.]+) s", re.MULTILINE)


@dataclass
class Run:
    """What one replica count measured."""

    replicas: int
    first_cycle: float = 0.0
    cycles: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    unanswered: int = 0
    connections: int = 0
    reads_per_team_cycle: float = 0.0
    errors: int = 0


class Database:
    """One fresh database on the server, dropped afterwards."""

    def __init__(self, server: str) -> None:
        self.server = make_url(server).set(drivername="postgresql+psycopg")
        self.name = f"bench_{uuid.uuid4().hex[:12]}"
        self.url = self.server.set(database=self.name).render_as_string(hide_password=False)

    def _admin(self) -> psycopg.Connection:
        s = self.server
        return psycopg.connect(
            host=s.host, port=s.port, user=s.username, password=s.password, dbname=s.database, autocommit=True
        )

    def __enter__(self) -> Database:
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *_: object) -> None:
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def wait_for_first_cycle(url: str, teams: int, timeout: float = 180) -> None:
    """Until every team's group was synced once (by whichever replica leads)."""
    engine = create_engine(url)
    synced = select(func.count(func.distinct(UsergroupSync.team)))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as connection:
                    if connection.scalar(synced) == teams:
                        return
            except Exception:  # noqa: S110 - the schema may not be there yet
                pass
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise TimeoutError(f"the first cycle did not finish within {timeout}s")


def cycle_times(logs: list[Path]) -> list[float]:
    """Every cycle's duration in the order they ran, from the logs of whichever replicas led."""
    found = []
    for path in logs:
        text = path.read_text(errors="replace")
        found += [(m.group(1), float(m.group(2))) for m in CYCLE_LINE.finditer(text)]
    return [seconds for _, seconds in sorted(found)]


def run(args: argparse.Namespace, replicas: int) -> Run:
    """Start ``replicas`` processes on a fresh database, measure, stop them."""
    result = Run(replicas)
    with (
        tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp,
        Database(args.database_url) as database,
        Sandbox() as sandbox,
    ):
        now = datetime.now(UTC)
        config_text, users = seed(sandbox, args.teams, args.shifts, now)
        (Path(tmp) / "oncall.toml").write_text(config_text, encoding="utf-8")
        clock_file = Path(tmp) / "clock"
        clock_file.write_text("0\n", encoding="utf-8")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPSGENIE_", "DATABASE_"))}
        env = (
            base
            | sandbox.env()
            | {
                "DATABASE_URL": database.url,
                "LOG_LEVEL": "INFO",
                "ONCALL_CONFIG": f"{tmp}/oncall.toml",
                "PYTHONPATH": str(CLOCK_HOOK),
                "ONCALL_TEST_CLOCK_FILE": str(clock_file),
            }
        )
        logs = [Path(tmp) / f"replica-{n}.log" for n in range(replicas)]
        processes = []
        try:
            command = [sys.executable, "-m", "app", "run"]
            for path in logs:
                out = path.open("wb")
                processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out))
            sandbox.slack.socket.wait_connected(replicas, timeout=60)
            wait_for_first_cycle(database.url, args.teams)
            time.sleep(1)  # the first cycle's log line
            [result.first_cycle] = cycle_times(logs) or [float("nan")]

            plan = commands(users, args.commands + WARM_UP)
            sent = []
            period, start = 1 / args.rate, time.monotonic()
            for i, (_, text, user, channel) in enumerate(plan):
                time.sleep(max(0.0, start + i * period - time.monotonic()))
                sent.append(sandbox.slack.socket.push_command(text, user_id=user, channel_id=channel))
            acks = [sandbox.slack.socket.wait_for_ack(e, timeout=10) for e in sent][WARM_UP:]
            result.acks = [a.latency for a in acks]
            result.unanswered = sum(not (a.payload and a.payload.get("blocks")) for a in acks)
            result.connections = len({a.connection for a in acks})

            reads_before = len(sandbox.opsgenie.requests("/v2/schedules/"))
            offset = 0.0
            for n in range(args.cycles):
                offset += REFRESH.total_seconds()
                clock_file.write_text(f"{offset}\n", encoding="utf-8")
                deadline = time.monotonic() + 60
                while len(cycle_times(logs)) < n + 2 and time.monotonic() < deadline:
                    time.sleep(0.1)
            result.cycles = cycle_times(logs)[1:]
            reads = len(sandbox.opsgenie.requests("/v2/schedules/")) - reads_before
            result.reads_per_team_cycle = reads / max(1, len(result.cycles)) / args.teams
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
        result.errors = sum(" ERROR " in path.read_text(errors="replace") for path in logs)
    return result


def report(runs: list[Run]) -> bool:
    """Print the table; True when the targets are met."""
    print(f"Machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print()
    print("| replicas | connections used | ack p50 / p99 / max | first cycle | steady cycle mean / max "
          "| pager reads per team per cycle | unanswered | errors |")  # fmt: skip
    print("|---:|---:|---|---:|---|---:|---:|---:|")
    ok = True
    for r in runs:
        p50, p99, worst = percentile(r.acks, 50), percentile(r.acks, 99), max(r.acks) * 1000
        mean = statistics.mean(r.cycles) if r.cycles else float("nan")
        worst_cycle = max(r.cycles) if r.cycles else float("nan")
        print(
            f"| {r.replicas} | {r.connections} | {p50:.1f} / {p99:.1f} / {worst:.1f} ms "
            f"| {r.first_cycle:.2f} s | {mean:.2f} / {worst_cycle:.2f} s ({len(r.cycles)}) "
            f"| {r.reads_per_team_cycle:.2f} | {r.unanswered} | {r.errors} |"
        )
        ok = ok and p99 < 50 and r.reads_per_team_cycle <= 1.0 and not r.unanswered and not r.errors
    return ok


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server (any database on it)")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--shifts", type=int, default=2000)
    parser.add_argument("--commands", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    runs = [run(args, n) for n in args.replicas]
    return 0 if report(runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
