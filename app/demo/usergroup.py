"""Demo step: @data-oncall follows the pager (or the rotation), and a cycle with no change is quiet."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.demo.scene import Scene
from app.sandbox.world import PEOPLE, USERGROUP, USERGROUP_ID
from app.services.cycle import run_cycle
from app.slack.words import when

GROUP = f"@{USERGROUP}"  # the team's usergroup as people mention it


def _members(scene: Scene) -> str:
    ids = scene.sandbox.slack.usergroup_members(USERGROUP_ID)
    names = {p[0]: p[1] for p in PEOPLE}
    return ", ".join(names.get(i, i) for i in ids) or scene.t("(empty)")


def _cycle_ran(scene: Scene, action: str, *, later: bool = False) -> str:
    """The narration of a refresh cycle: what it did and who the group holds afterwards."""
    words = {"action": action, "group": GROUP, "members": _members(scene)}
    if later:
        return "  » " + scene.t(
            "five minutes later the next cycle runs: {action}; {group} now holds: {members}", **words
        )
    return "  » " + scene.t("the bot's refresh cycle runs: {action}; {group} now holds: {members}", **words)


def _quiet_cycle(scene: Scene, at: datetime) -> None:
    """A cycle with nothing changed makes no usergroup write."""
    writes = len(scene.sandbox.slack.requests("usergroups.users.update"))
    run_cycle(scene.bot.runtime, at)
    again = len(scene.sandbox.slack.requests("usergroups.users.update"))
    scene.transcript.expect(again == writes, scene.t("a cycle with no change writes nothing to Slack"))


def _rotation_follows(scene: Scene) -> None:
    """The built-in rotation: its turns come from the teams file, and the cycle puts them in the group."""
    say, runtime, t = scene.transcript.say, scene.bot.runtime, scene.t
    say("\n== " + t("2. {group} follows the rotation in the teams file (no pager anywhere)", group=GROUP))
    team = runtime.config.teams[0]
    now = runtime.now()
    provider = runtime.providers.for_team(team)
    turns = provider.shifts(team.schedule, now, now + timedelta(days=15))
    say("  " + t("[teams.rotation]: alice, bob (listed by Slack id) and carol take weekly turns; coming up:"))
    for turn in turns:
        start, end = when(turn.start, team.timezone, t), when(turn.end, team.timezone, t)
        say(f"    {turn.person:<20} " + t("from {start} to {end}", start=start, end=end))
    say("  " + t("{group} holds: {members}", group=GROUP, members=_members(scene)))
    [report] = run_cycle(runtime, now)
    say(_cycle_ran(scene, report.sync.action))
    scene.transcript.expect(_members(scene) == "carol", t("the group holds exactly the person on call"))
    _quiet_cycle(scene, now + timedelta(minutes=5))
    scene.transcript.expect(
        not scene.sandbox.opsgenie.requests(), t("no pager was asked: the rotation is computed by the bot")
    )


def step_usergroup_follows_the_pager(scene: Scene) -> None:
    """A refresh cycle rewrites @data-oncall, and an override in the pager moves it again."""
    if scene.provider == "rotation":
        _rotation_follows(scene)
        return
    say, runtime, t = scene.transcript.say, scene.bot.runtime, scene.t
    say("\n== " + t("2. {group} follows the pager", group=GROUP))
    now = runtime.now()
    on_call = scene.pager_on_call(now)
    say(
        "  "
        + t(
            "{pager} says on call now: {people}; {group} holds: {members}",
            pager=scene.pager,
            people=", ".join(on_call),
            group=GROUP,
            members=_members(scene),
        )
    )
    [report] = run_cycle(runtime, now)
    say(_cycle_ran(scene, report.sync.action))
    scene.transcript.expect(_members(scene) == "carol", t("the group holds exactly the person on call"))
    scene.pager_override("bob@corp.example", now, now + timedelta(hours=4))
    say("  » " + t("in {pager}, bob takes over for the next 4 hours (an override)", pager=scene.pager))
    [report] = run_cycle(runtime, now + timedelta(minutes=5))
    say(_cycle_ran(scene, report.sync.action, later=True))
    scene.transcript.expect(_members(scene) == "bob", t("the group followed the override in one cycle"))
    _quiet_cycle(scene, now + timedelta(minutes=10))
