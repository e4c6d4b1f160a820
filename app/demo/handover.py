"""Demo step: the bot's clock jumps to the next handover; the post, the DM, and no second post."""

from __future__ import annotations

from datetime import timedelta

from app.demo.scene import Scene, readable
from app.sandbox.world import CHANNEL, PEOPLE
from app.services.cycle import run_cycle
from app.services.handover import run_handover
from app.services.handover_timing import next_handover
from app.slack.blocks import message_text
from app.slack.words import when


def demo_step(scene: Scene) -> None:
    """Move the bot's clock to the next handover and show the channel post and the incoming person's DM."""
    say, expect, slack, t = scene.transcript.say, scene.transcript.expect, scene.sandbox.slack, scene.t
    runtime = scene.bot.runtime
    team = runtime.config.teams[0]
    moment = next_handover(team, runtime.now())
    say("\n== " + t("The weekly handover"))
    jump = t(
        "the bot's clock jumps to {when} ({zone}), the next handover",
        when=when(moment, team.timezone, t),
        zone=team.timezone,
    )
    say(f"  » {jump}")
    try:
        # The refresh cycles around the handover record who was on call before and after it.
        run_cycle(runtime, moment - timedelta(minutes=2))
        scene.clock.stop_at(moment + timedelta(seconds=30))
        run_cycle(runtime, runtime.now())
        before = len(slack.messages(CHANNEL))
        dms_before = {user_id: len(slack.messages(user_id)) for user_id, *_ in PEOPLE}
        outcome = run_handover(runtime, team, runtime.now())  # what the cron job does at that moment
        handover = scene.words("On-call handover for {team}: {headline}, {window}")
        posts = [m for m in slack.messages(CHANNEL)[before:] if handover in m["text"]]
        for post in posts:
            scene.transcript.quote(t("oncall-bot in the team channel"), readable(message_text(post)))
        expect(outcome.status == "posted" and len(posts) == 1, t("one handover post in the team channel"))
        dms = [
            (handle, dm)
            for user_id, handle, *_ in PEOPLE
            for dm in slack.messages(user_id)[dms_before[user_id] :]
        ]
        for handle, dm in dms:
            scene.transcript.quote(
                t("oncall-bot → DM to {person}", person=handle), readable(message_text(dm))
            )
        expect(len(dms) == 1, t("the incoming person got a direct message"))
        scene.clock.stop_at(moment + timedelta(minutes=1))
        again = run_handover(runtime, team, runtime.now())  # a restart or a second replica
        say("  » " + t("a minute later a restarted bot tries again: {status}", status=again.status))
        expect(
            again.status == "already_posted" and len(slack.messages(CHANNEL)) == before + 1,
            t("no second post"),
        )
    finally:
        scene.clock.stop_at(None)
