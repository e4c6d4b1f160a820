"""`oncall-bot demo`: the real bot against the local sandbox, a scripted scenario, a readable transcript."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from app.config import Settings, load_oncall_config
from app.demo_escalation import demo_step as escalation_step
from app.demo_handover import demo_step as handover_step
from app.demo_oncall import demo_step as oncall_step
from app.demo_scene import Scene, Transcript, blocks_text
from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import PEOPLE, USERGROUP, USERGROUP_ID, seed, write_config
from app.services.cycle import run_cycle
from app.slack.handover_blocks import when
from app.wiring import build_runtime, start_bot


def step_help(scene: Scene) -> None:
    """`/oncall help` answered through a real Socket Mode round trip."""
    scene.transcript.say("\n== 1. Asking for help")
    payload = scene.slash("help")
    scene.transcript.expect(
        payload is not None and "/oncall next" in blocks_text(payload), "the help lists the subcommands"
    )


def _members(scene: Scene) -> str:
    ids = scene.sandbox.slack.usergroup_members(USERGROUP_ID)
    names = {p[0]: p[1] for p in PEOPLE}
    return ", ".join(names.get(i, i) for i in ids) or "(empty)"


def _rotation_follows(scene: Scene) -> None:
    """The built-in rotation: its turns come from the teams file, and the cycle puts them in the group."""
    say, runtime = scene.transcript.say, scene.bot.runtime
    say("\n== 2. @data-oncall follows the rotation in the teams file (no pager anywhere)")
    team = runtime.config.teams[0]
    now = runtime.now()
    provider = runtime.providers.for_team(team)
    turns = provider.shifts(team.schedule, now, now + timedelta(days=15))
    say("  [teams.rotation]: alice, bob (listed by Slack id) and carol take weekly turns; coming up:")
    for turn in turns:
        start, end = when(turn.start, team.timezone), when(turn.end, team.timezone)
        say(f"    {turn.person:<20} from {start} to {end}")
    say(f"  @{USERGROUP} holds: {_members(scene)}")
    [report] = run_cycle(runtime, now)
    say(f"  » the bot's refresh cycle runs: {report.sync.action}; @{USERGROUP} now holds: {_members(scene)}")
    scene.transcript.expect(_members(scene) == "carol", "the group holds exactly the person on call")
    writes = len(scene.sandbox.slack.requests("usergroups.users.update"))
    run_cycle(runtime, now + timedelta(minutes=5))
    again = len(scene.sandbox.slack.requests("usergroups.users.update"))
    scene.transcript.expect(again == writes, "a cycle with no change writes nothing to Slack")
    scene.transcript.expect(
        not scene.sandbox.opsgenie.requests(), "no pager was asked: the rotation is computed by the bot"
    )


def step_usergroup_follows_the_pager(scene: Scene) -> None:
    """A refresh cycle rewrites @data-oncall, and an override in the pager moves it again."""
    if scene.provider == "rotation":
        _rotation_follows(scene)
        return
    say, runtime = scene.transcript.say, scene.bot.runtime
    say("\n== 2. @data-oncall follows the pager")
    now = runtime.now()
    on_call = scene.pager_on_call(now)
    say(f"  {scene.pager} says on call now: {', '.join(on_call)}; @{USERGROUP} holds: {_members(scene)}")
    [report] = run_cycle(runtime, now)
    say(f"  » the bot's refresh cycle runs: {report.sync.action}; @{USERGROUP} now holds: {_members(scene)}")
    scene.transcript.expect(_members(scene) == "carol", "the group holds exactly the person on call")
    scene.pager_override("bob@corp.example", now, now + timedelta(hours=4))
    say(f"  » in {scene.pager}, bob takes over for the next 4 hours (an override)")
    [report] = run_cycle(runtime, now + timedelta(minutes=5))
    say(
        f"  » five minutes later the next cycle runs: {report.sync.action}; @{USERGROUP} now holds: "
        f"{_members(scene)}"
    )
    scene.transcript.expect(_members(scene) == "bob", "the group followed the override in one cycle")
    writes = len(scene.sandbox.slack.requests("usergroups.users.update"))
    run_cycle(runtime, now + timedelta(minutes=10))
    again = len(scene.sandbox.slack.requests("usergroups.users.update"))
    scene.transcript.expect(again == writes, "a cycle with no change writes nothing to Slack")


STEPS: list[Callable[[Scene], None]] = [
    step_help,
    step_usergroup_follows_the_pager,
    oncall_step,
    escalation_step,
    handover_step,  # last: it moves the bot's clock forward
]


@contextmanager
def running_demo_bot(out: TextIO, provider: str = "rotation") -> Iterator[Scene]:
    """Start the sandbox, seed it, and run the real bot against it in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="oncall-demo-") as tmp, Sandbox() as sandbox:
        world = seed(sandbox, utc_now(), escalate="page", provider=provider)
        config_path = write_config(Path(tmp), world.config_text)
        # The bot gets Slack's variables and the chosen pager's only: a rotation team needs no pager at all.
        env: dict[str, Any] = {
            key.lower(): value
            for key, value in sandbox.env().items()
            if key.startswith(("SLACK_", f"{provider.upper()}_"))
        }
        settings = Settings(
            _env_file=None,  # the demo ignores the user's .env on purpose
            **env,
            database_url=f"sqlite:///{tmp}/oncall.db",
            oncall_config=config_path,
        )
        runtime = build_runtime(settings, load_oncall_config(config_path))
        bot = start_bot(settings, runtime, start_jobs=False)
        try:
            sandbox.slack.socket.wait_connected(timeout=10)
            yield Scene(sandbox=sandbox, bot=bot, transcript=Transcript(out), provider=provider)
        finally:
            bot.stop()


def run_demo(out: TextIO, provider: str = "rotation") -> bool:
    """Play every step with the team's on-call from ``provider``; True when each behaved."""
    with running_demo_bot(out, provider) as scene:
        source = "a built-in rotation" if provider == "rotation" else scene.pager
        scene.transcript.say(
            f"oncall-bot demo: the real bot against a local Slack and {source} (no account needed)"
        )
        for step in STEPS:
            step(scene)
        failures = scene.transcript.failures
        scene.transcript.say(
            f"\n{'All steps behaved.' if not failures else f'{len(failures)} step(s) failed:'}"
        )
        for failure in failures:
            scene.transcript.say(f"  - {failure}")
        return not failures
