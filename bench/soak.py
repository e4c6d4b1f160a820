"""Soak: /oncall and a sync cycle after a simulated year of history, pruned and not, against day one.

Run: .venv/bin/python bench/soak.py [--teams 200] [--days 365] [--retention 30]
Day one is the real first cycle over ``--teams`` sandbox teams. A year of the history the bot writes is
then added behind it, shaped like the rows the product writes (a new on-call snapshot every 8 hours per
team, a usergroup sync per change plus two failed or stale ones a day, weekly handovers and notices, an
escalation every week): running a year of real 5-minute cycles would take days. /oncall (every team in
one answer, the widest read) and a steady cycle are measured on day one, after the year unpruned, and after
the pruning job ran. Prints a Markdown table and exits 1 when the pruned numbers miss 1.2 x day one.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402
from sync import seed  # noqa: E402  (bench/sync.py: the same 200 teams)

from app.config import Settings  # noqa: E402
from app.oncall_config import load_oncall_config  # noqa: E402
from app.sandbox import Sandbox  # noqa: E402
from app.services.cycle import run_cycle  # noqa: E402
from app.services.retention import prune  # noqa: E402
from app.slack.listeners.commands import Query, answer  # noqa: E402
from app.store.db import reading  # noqa: E402
from app.store.models import (  # noqa: E402
    Escalation,
    Handover,
    Notice,
    OnCallSnapshot,
    UsergroupSync,
)
from app.wiring import build_runtime  # noqa: E402

OTHER_CHANNEL = "C0RANDOM001"
TABLES = (OnCallSnapshot, UsergroupSync, Notice, Handover, Escalation)


def median_ms(action: Callable[[], object], runs: int) -> float:
    """The median wall time of ``runs`` calls, in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def history(teams: int, end: datetime, days: int) -> dict[Any, list[dict[str, Any]]]:
    """A year of rows per table, as the roster, sync, handover, notices and escalations write them."""
    rows: dict[Any, list[dict[str, Any]]] = {model: [] for model in TABLES}
    start = end - timedelta(days=days)
    for t in range(teams):
        team, people = f"team{t}", [f"person{p}.team{t}@corp.example" for p in range(3)]
        ids = [f"U{t:05d}{p:04d}" for p in range(3)]
        for n in range(days * 3):
            at = start + timedelta(hours=8 * n)
            who = [people[n % 3], people[(n + 1) % 3]]
            seen = at + timedelta(hours=8) - timedelta(minutes=5)
            rows[OnCallSnapshot].append(
                {"team": team, "people": who, "first_seen_at": at, "last_seen_at": seen}
            )
            after = sorted([ids[n % 3], ids[(n + 1) % 3]])
            sync = {"team": team, "usergroup_id": f"S{t:010d}", "before": after[:1], "after": after}
            rows[UsergroupSync].append(sync | {"at": at, "result": "updated", "detail": None})
            if n % 3 == 0:  # twice a day, the pager blips: the group is left alone
                blip = {
                    "at": at + timedelta(hours=2),
                    "result": "stale",
                    "detail": "the pager is unreachable",
                }
                rows[UsergroupSync].append(sync | {"before": after, **blip})
                rows[UsergroupSync].append(sync | {"before": after, **blip, "at": at + timedelta(hours=3)})
        for week in range(days // 7):
            monday = start + timedelta(days=7 * week)
            rows[Handover].append(
                {"team": team, "shift_start": monday, "created_at": monday, "status": "posted", "late": False}
                | {
                    "outgoing": people[:1],
                    "incoming": people[1:2],
                    "channel": f"C{t:010d}",
                    "message_ts": "1.0",
                }
            )
            for kind, key in (
                ("unmapped", f"ghost@corp.example|{monday.isoformat()}"),
                ("shift_change", f"w{week}"),
            ):
                rows[Notice].append(
                    {
                        "team": team,
                        "kind": kind,
                        "key": key,
                        "created_at": monday,
                        "text": "...",
                        "status": "posted",
                    }
                )
            rows[Escalation].append(
                {
                    "event_id": f"Ev{t}x{week}",
                    "team": team,
                    "channel": f"C{t:010d}",
                    "message_ts": f"{week}.1",
                }
                | {"thread_ts": f"{week}.1", "user_id": ids[0], "text": "db down", "on_call": people[:1]}
                | {"priority": "P3", "status": "created", "created_at": monday, "updated_at": monday}
                | {
                    "closed_at": monday + timedelta(hours=1),
                    "closed_by": ids[0],
                    "attempts": 1,
                    "post_attempts": 0,
                }
            )
    return rows


def main() -> int:
    """Run the soak and print the table; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--retention", type=int, default=30)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    results: dict[str, dict[str, float]] = {}
    with Sandbox() as sandbox, tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "oncall.toml"
        text = seed(sandbox, args.teams, now - timedelta(days=30))
        config_path.write_text(f"retention_days = {args.retention}\n" + text, encoding="utf-8")
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            **{k.lower(): v for k, v in sandbox.env().items()},
            database_url=f"sqlite:///{tmp}/soak.db",
            oncall_config=config_path,
        )
        runtime = build_runtime(settings, load_oncall_config(config_path))
        run_cycle(runtime, now)  # the first cycle: timelines, people, groups
        minute = [5]

        def cycle() -> None:
            run_cycle(runtime, now + timedelta(minutes=minute[0]))  # all within the timeline's hour
            minute[0] += 1

        def oncall() -> None:
            with reading(runtime.sessions) as session:
                answer(
                    session, runtime, Query("now"), "U0000000000", OTHER_CHANNEL, now + timedelta(minutes=1)
                )

        def measure(name: str) -> None:
            oncall()  # warm
            with reading(runtime.sessions) as session:
                rows = sum(int(session.scalar(select(func.count()).select_from(m)) or 0) for m in TABLES)
            results[name] = {"oncall": median_ms(oncall, 30), "cycle": median_ms(cycle, 3), "rows": rows}

        measure("day one")
        started = time.perf_counter()
        with runtime.sessions.begin() as session:
            for model, values in history(args.teams, now - timedelta(days=1), args.days).items():
                if values:
                    session.execute(insert(model), values)
        filled = time.perf_counter() - started
        measure(f"after {args.days} days, unpruned")
        started = time.perf_counter()
        pruned = prune(runtime.sessions, args.retention, now)
        took = time.perf_counter() - started
        measure(f"after {args.days} days, pruned ({args.retention} days kept)")

    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {args.teams} teams")
    flags = f"--teams {args.teams} --days {args.days} --retention {args.retention}"
    print(f"Command: .venv/bin/python bench/soak.py {flags}")
    print(f"History written in {filled:.1f} s; the first pruning deleted {pruned.total} rows in {took:.1f} s")
    print("\n| state | history rows | /oncall, every team (median) | steady cycle (median) |")
    print("|---|---:|---:|---:|")
    for name, row in results.items():
        print(f"| {name} | {row['rows']:.0f} | {row['oncall']:.1f} ms | {row['cycle']:.0f} ms |")
    day, last = results["day one"], list(results.values())[-1]
    misses = [what for what in ("oncall", "cycle") if last[what] > 1.2 * day[what]]
    print(
        f"\nTargets: pruned /oncall {last['oncall']:.1f} ms <= {1.2 * day['oncall']:.1f} ms, pruned cycle "
        f"{last['cycle']:.0f} ms <= {1.2 * day['cycle']:.0f} ms (1.2 x day one): "
        + ("met" if not misses else "MISSED: " + ", ".join(misses))
    )
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
