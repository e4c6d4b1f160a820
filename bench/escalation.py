"""Benchmark mention → alert created, the thread reply rate-limited and another page hanging at the pager.

Run: .venv/bin/python bench/escalation.py [--mentions 100] [--rounds 10] [--retry-after 4] [--hang 8]
                                         [--only both|new|old] [--baseline 8806f8f]

Each variant is the bot's real process (`python -m app run`, its jobs and all) against its own sandbox,
one after the other in the same run: "new" is this checkout; "old" is the same process built from the
``--baseline`` commit (extracted with `git archive`: the last commit whose pages went out only from the
15-second job, after the thread reply), so the comparison is the old code itself, not an imitation.

Every round, the next ``k`` chat.postMessage calls (every thread reply of the round) get HTTP 429 with
Retry-After ``--retry-after`` s first, and one page (an unmeasured mention sent first) hangs ``--hang`` s at
Opsgenie; then ``--mentions / --rounds`` measured mentions ("page: …", one every ``--gap`` s, from five
people) follow. Latency is the envelope sent → Opsgenie receiving that mention's alert create, both read
on this process's monotonic clock (the sandbox runs here). Prints a Markdown table (paste it into
bench/README.md) and exits 1 when the new p99 is not under 1 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.runtime import utc_now  # noqa: E402
from app.sandbox import Sandbox  # noqa: E402
from app.sandbox.world import CHANNEL, USERGROUP_ID, seed, write_config  # noqa: E402

BASELINE = "8806f8f"  # main just before the page workers: pages from the 15-second job, after the reply
TARGET_P99 = 1.0
PEOPLE = ("U0ALICE0001", "U0BOB000001", "U0CAROL0001", "U0DAVE00001")
HANGING_USER = "U0DAVE00001"
_OUR_VARIABLES = ("SLACK_", "OPSGENIE_", "PAGERDUTY_", "JSM_", "DATABASE_URL", "ONCALL_CONFIG", "HEALTH_ADDR")


@dataclass
class Result:
    """One variant's measured latencies (seconds) and what else the run saw."""

    name: str
    latencies: list[float] = field(default_factory=list)
    alerts: int = 0
    creates: int = 0
    missing: int = 0

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (nearest rank) of the latencies."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def wait_until(what: str, check: Callable[[], Any], timeout: float) -> Any:
    """Poll ``check`` until truthy; a sentence and exit 2 when it never is (the bench cannot go on)."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/escalation.py: not within {timeout:.0f} s: {what}")
        time.sleep(0.01)
    return value


def extract(revision: str, directory: Path) -> Path:
    """The source tree of ``revision`` (git archive), where `python -m app` then runs the old code."""
    git, tar = shutil.which("git"), shutil.which("tar")
    if git is None or tar is None:
        raise SystemExit("bench/escalation.py: the old variant needs git and tar on PATH")
    try:
        subprocess.run([git, "-C", str(ROOT), "rev-parse", "--verify", f"{revision}^{{commit}}"],
                       check=True, capture_output=True)  # fmt: skip
    except subprocess.CalledProcessError:
        raise SystemExit(
            f"bench/escalation.py: no commit {revision} in {ROOT} (a full clone is needed)"
        ) from None
    tree = directory / "baseline"
    tree.mkdir()
    archive = subprocess.run([git, "-C", str(ROOT), "archive", revision], check=True, capture_output=True)
    subprocess.run([tar, "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def environment(sandbox: Sandbox, directory: Path, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUR_VARIABLES)}
    env.update(sandbox.env())
    env.update(
        DATABASE_URL=f"sqlite:///{directory}/oncall.db", ONCALL_CONFIG=str(config), LOG_LEVEL="WARNING"
    )
    return env


@contextmanager
def running_bot(sandbox: Sandbox, directory: Path, source: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m app run` from ``source`` against ``sandbox``, connected and past its first sync."""
    world = seed(sandbox, utc_now(), escalate="page")
    config = write_config(directory, "pages_per_user_per_hour = 1000\n" + world.config_text)
    log = (directory / "bot.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "run"], cwd=source, env=environment(sandbox, directory, config),
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        sandbox.slack.socket.wait_connected(timeout=60)
        wait_until(
            "the start-up sync", lambda: sandbox.slack.usergroup_members(USERGROUP_ID) != ["U0DAVE00001"], 60
        )
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


class Driver:
    """Mentions pushed through the sandbox's Socket Mode, and the creates Opsgenie received for them."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._ts = 0

    def mention(self, text: str, user: str) -> tuple[str, float]:
        """Mention the bot; the message ts and when the envelope was sent (monotonic)."""
        self._ts += 1
        ts = f"{int(time.time())}.{self._ts:06d}"
        event = {"type": "app_mention", "user": user, "text": f"<@UBOT> {text}", "ts": ts, "channel": CHANNEL}
        sent = time.monotonic()
        self.sandbox.slack.socket.push_event(event)
        return ts, sent

    def created_at(self) -> dict[str, float]:
        """Message ts → when Opsgenie received the first create of its alert."""
        first: dict[str, float] = {}
        for request in self.sandbox.opsgenie.requests("/v2/alerts"):
            if request.method == "POST" and request.path == "/v2/alerts" and isinstance(request.body, dict):
                ts = str(request.body.get("alias", "")).rsplit("-", 1)[-1]
                first.setdefault(ts, request.at)
        return first

    def created_for(self, sent: dict[str, float]) -> dict[str, float] | None:
        """When each of ``sent``'s alerts was created, once all of them were; None before."""
        created = self.created_at()
        return created if set(sent) <= set(created) else None

    def thread_done(self, ts: str) -> bool:
        """True once the mention's thread has the reply and the page's outcome."""
        return len([m for m in self.sandbox.slack.messages(CHANNEL) if m.get("thread_ts") == ts]) >= 2


def measure(name: str, source: Path, args: argparse.Namespace) -> Result:
    """One variant: warm up, then the rounds; its latencies."""
    result = Result(name)
    per_round = args.mentions // args.rounds
    with tempfile.TemporaryDirectory() as tmp, Sandbox() as sandbox, running_bot(sandbox, Path(tmp), source):
        sandbox.opsgenie.alert_processing_polls = 0
        driver = Driver(sandbox)
        for user in PEOPLE:  # warm-up: each person's profile is cached, as in a workspace in use
            ts, _ = driver.mention(f"page: warm-up by {user}", user)
            wait_until("a warm-up page", lambda ts=ts: driver.thread_done(ts), 60)
        for number in range(args.rounds):
            print(f"{name}: round {number + 1} of {args.rounds}", file=sys.stderr, flush=True)
            start = time.monotonic()
            sandbox.slack.rate_limit("chat.postMessage", retry_after=args.retry_after, times=per_round + 1)
            sandbox.opsgenie.hang(args.hang, times=1, path="/v2/alerts")  # that page's create
            hanging, _ = driver.mention("page: the page that hangs at Opsgenie", HANGING_USER)
            wait_until("the hanging page", lambda: "/v2/alerts" in sandbox.opsgenie.hanging(), 60)
            sent: dict[str, float] = {}
            for i in range(per_round):
                ts, at = driver.mention(f"page: measured mention {len(result.latencies) + i}", PEOPLE[i % 3])
                sent[ts] = at
                time.sleep(args.gap)
            created = wait_until("the round's alerts", lambda sent=sent: driver.created_for(sent), 120)
            print(f"  alerts in {time.monotonic() - start:.1f} s", file=sys.stderr, flush=True)
            result.latencies.extend(created[ts] - at for ts, at in sent.items())
            left = [*sent, hanging]
            wait_until("the round's threads", lambda left=left: all(driver.thread_done(t) for t in left), 120)
            print(f"  threads in {time.monotonic() - start:.1f} s", file=sys.stderr, flush=True)
        result.alerts = len(sandbox.opsgenie.alerts())
        result.creates = len([r for r in sandbox.opsgenie.requests("/v2/alerts") if r.path == "/v2/alerts"])
    return result


def report(args: argparse.Namespace, results: list[Result]) -> bool:
    """Print the Markdown table; True when the new variant's p99 is under the target."""
    print(f"\n`bench/escalation.py --mentions {args.mentions} --rounds {args.rounds} --retry-after "
          f"{args.retry_after} --hang {args.hang} --gap {args.gap}` on {platform.python_version()}, "
          f"{os.cpu_count()} cores\n")  # fmt: skip
    print("| variant | mentions | p50 | p99 | max | mean | alerts created |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        p50, p99, top = (f"{v * 1000:.0f} ms" for v in (r.percentile(50), r.percentile(99), max(r.latencies)))
        mean = f"{statistics.fmean(r.latencies) * 1000:.0f} ms"
        print(f"| {r.name} | {len(r.latencies)} | {p50} | {p99} | {top} | {mean} | {r.alerts} |")
    new = next((r for r in results if r.name.startswith("new")), None)
    if new is None:
        return True
    met = new.percentile(99) < TARGET_P99
    print(f"\nTarget: p99 under {TARGET_P99:g} s for the new variant: {'met' if met else 'MISSED'}.")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--retry-after", type=int, default=4)
    parser.add_argument("--hang", type=float, default=8.0)
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between a round's mentions")
    parser.add_argument("--only", choices=("both", "new", "old"), default="both")
    parser.add_argument("--baseline", default=BASELINE, help="the commit the old variant runs")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in ("both", "new"):
            results.append(measure("new: page workers (this checkout)", ROOT, args))
        if args.only in ("both", "old"):
            old = extract(args.baseline, Path(tmp))
            results.append(measure(f"old: the 15-second job ({args.baseline})", old, args))
    return 0 if report(args, results) else 1


if __name__ == "__main__":
    sys.exit(main())
