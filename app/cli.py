"""The oncall-bot command: run, check, sync, who, handover, demo, migrate, backup, init."""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from app import cli_ops
from app.config import ConfigError, Settings, StartupError, load_settings
from app.logs import setup_logging
from app.oncall_config import OncallConfig, load_oncall_config
from app.redaction import install_hooks, redacted_output

if TYPE_CHECKING:
    from app.domain import Team
    from app.runtime import Runtime

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _load() -> tuple[Settings, OncallConfig]:
    settings = load_settings()
    return settings, load_oncall_config(settings.oncall_config)


# glibc's mallopt parameter for the most malloc arenas (malloc.h).
_M_ARENA_MAX = -8


def few_malloc_arenas(limit: int = 2) -> bool:
    """Cap glibc's malloc arenas at ``limit`` (call before any thread starts); False where it cannot.

    glibc gives threads arenas of their own, up to 8 per core, and memory freed in one is not reused by
    another: with the bot's ~20 threads that kept ~6 MiB more resident after 1,000 /oncall commands
    (bench/ack.py). MALLOC_ARENA_MAX set by the operator wins; elsewhere (musl, macOS) this does nothing.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, limit))


# How long a thread holding the GIL may run on while another waits for it (CPython's default: 5 ms).
GIL_SWITCH_SECONDS = 0.001


def quick_gil_handoff() -> None:
    """Hand the GIL to a waiting thread after 1 ms instead of 5: an /oncall ack is a few short reads.

    Each read releases the GIL in SQLite and waits to take it back; while a job or the cycle computes
    in another thread, each wait lasted up to the whole interval. Six 1-row reads beside a busy thread
    took p99 40-60 ms at 5 ms and 5-20 ms at 1 ms (load ~4); bench/README.md, "#18, fourth pass".
    """
    sys.setswitchinterval(GIL_SWITCH_SECONDS)


def cmd_run(_args: argparse.Namespace) -> int:
    """Run the bot over Socket Mode with its scheduled jobs until SIGTERM or SIGINT."""
    few_malloc_arenas()  # before the first thread
    quick_gil_handoff()
    from app.run import run_until_stopped  # connects first: the store and the rest load after hello

    settings, config = _load()
    setup_logging(settings.log_level, settings.log_format)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    reason = run_until_stopped(settings, config, stop)
    if reason:
        print(f"oncall-bot: stopped: {reason}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_check(_args: argparse.Namespace) -> int:
    """Check config, tokens, scopes, Socket Mode, the pager key, usergroups and channels."""
    from app.checks import report, run_checks

    settings, config = _load()
    setup_logging("ERROR")  # the report says it all; retries and warnings would only repeat it
    text, passed = report(run_checks(settings, config))
    print(text)
    return EXIT_OK if passed else EXIT_FAILED


def cmd_migrate(_args: argparse.Namespace) -> int:
    """Create or upgrade the database schema."""
    from app.store.startup import DatabaseUnusable, open_database, shown_url

    settings = load_settings()
    setup_logging(settings.log_level)
    try:
        open_database(settings.database_url).dispose()
    except DatabaseUnusable as error:
        print(f"oncall-bot: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"database at {shown_url(settings.database_url)} is up to date")
    return EXIT_OK


def _runtime() -> Runtime:
    from app.wiring import build_runtime

    settings, config = _load()
    setup_logging(settings.log_level if settings.log_level != "INFO" else "WARNING", settings.log_format)
    return build_runtime(settings, config)


def _chosen_teams(config: OncallConfig, name: str | None) -> list[Team]:
    if name is None:
        return list(config.teams)
    team = config.team(name)
    if team is None:
        known = ", ".join(t.name for t in config.teams)
        raise ConfigError(f"{config.path}: no team named {name!r} (teams: {known})")
    return [team]


def cmd_sync(args: argparse.Namespace) -> int:
    """Refresh from the pager and sync the usergroups now, printing what was (or would be) done."""
    from app.services.cycle import run_cycle
    from app.services.report import describe_cycle

    runtime = _runtime()
    reports = run_cycle(
        runtime, runtime.now(), teams=_chosen_teams(runtime.config, args.team), dry_run=args.dry_run
    )
    print(describe_cycle(reports, dry_run=args.dry_run))
    return EXIT_FAILED if any(r.failed for r in reports) else EXIT_OK


def cmd_who(args: argparse.Namespace) -> int:
    """Print who the cache says is on call, with the age of the data."""
    from app.services.report import describe_cached

    runtime = _runtime()
    teams = _chosen_teams(runtime.config, args.team)
    text, any_failed = describe_cached(runtime, teams, runtime.now())
    print(text)
    return EXIT_FAILED if any_failed else EXIT_OK


def cmd_handover(args: argparse.Namespace) -> int:
    """Post (or with --dry-run, print) the latest handover; --dry-run also lists what comes next."""
    from app.services import outlook
    from app.services.handover import run_handover

    runtime = _runtime()
    failed = False
    for team in _chosen_teams(runtime.config, args.team):
        now = runtime.now()
        outcome = run_handover(runtime, team, now, dry_run=args.dry_run)
        print(f"== team {team.name}: {outcome.status}" + (f" ({outcome.detail})" if outcome.detail else ""))
        if outcome.text:
            print(outcome.text)
        if args.dry_run:
            print(outlook.describe(outlook.outlook(runtime, team, now), now))
        failed = failed or outcome.status == "failed"
    return EXIT_FAILED if failed else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Play the scripted scenario against the built-in sandbox and print the transcript."""
    from app.demo import run_demo
    from app.sandbox.world import PROVIDERS

    if args.provider not in PROVIDERS:
        print(f"oncall-bot demo: --provider must be one of {', '.join(PROVIDERS)}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging("DEBUG" if args.verbose else "ERROR")
    return EXIT_OK if run_demo(sys.stdout, args.provider, args.language) else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="oncall-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot (Socket Mode + scheduler)").set_defaults(func=cmd_run)
    commands.add_parser("check", help="check the configuration and every connection").set_defaults(
        func=cmd_check
    )
    commands.add_parser("migrate", help="create or upgrade the database schema").set_defaults(
        func=cmd_migrate
    )
    sync = commands.add_parser("sync", help="refresh from the pager and sync the usergroups now")
    sync.add_argument("--team", help="only this team")
    sync.add_argument("--dry-run", action="store_true", help="show what would change; write nothing to Slack")
    sync.set_defaults(func=cmd_sync)
    who = commands.add_parser("who", help="who is on call, from the cache, with its age")
    who.add_argument("team", nargs="?", help="only this team")
    who.set_defaults(func=cmd_who)
    handover = commands.add_parser("handover", help="post the latest handover now (once per shift)")
    handover.add_argument("--team", help="only this team")
    handover.add_argument(
        "--dry-run",
        action="store_true",
        help="print the message and the next handover, reminders and pending acknowledgements; post nothing",
    )
    handover.set_defaults(func=cmd_handover)
    demo = commands.add_parser("demo", help="play a scripted scenario against the local sandbox")
    demo.add_argument("-v", "--verbose", action="store_true", help="show the bot's logs too")
    demo.add_argument(
        "--provider",
        default="rotation",
        help="where on-call comes from: rotation (the default: no pager), opsgenie, pagerduty, jsm",
    )
    demo.add_argument(
        "--language",
        choices=("en", "ja"),
        default="en",
        help="the team's language and its people's Slack language: en (the default) or ja",
    )
    demo.set_defaults(func=cmd_demo)
    cli_ops.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the oncall-bot command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    install_hooks()  # an unexpected traceback, in any thread, is printed redacted
    with redacted_output():  # and so is everything a command prints
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args))
    except ConfigError as error:
        print(f"oncall-bot: configuration error\n{error}", file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as error:
        print(f"oncall-bot: cannot start: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED
