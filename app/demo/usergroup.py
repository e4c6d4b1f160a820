"""Demo step: @data-oncall follows the pager (or the rotation), and a cycle with no change is quiet."""

from __future__ import annotations

from datetime import timedelta

from app.demo.scene import Scene
from app.sandbox.world import PEOPLE, USERGROUP, USERGROUP_ID
from app.services.cycle import run_cycle
from app.slack.words import when


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
