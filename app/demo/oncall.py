"""Demo steps: `/oncall help`, then `/oncall`, `/oncall next data` and `/oncall me`, answered in the ack."""

from __future__ import annotations

import time

from app.demo.scene import Scene, blocks_text
from app.sandbox.world import PEOPLE
from app.services import oncall_view
from app.services.cycle import run_cycle
from app.slack.words import person
from app.store.models import SlackUser

PROFILE_WAIT = 5.0  # seconds the bot gets to look up a user's time zone after answering


def step_help(scene: Scene) -> None:
    """`/oncall help` answered through a real Socket Mode round trip."""
    t = scene.t
    scene.transcript.say("\n== " + t("1. Asking for help"))
    payload = scene.slash("help")
    scene.transcript.expect(
        payload is not None and "/oncall next" in blocks_text(payload), t("the help lists the subcommands")
    )


def _user_id(handle: str) -> str:
    return next(user_id for user_id, name, *_ in PEOPLE if name == handle)


def _profile_cached(scene: Scene, handle: str) -> bool:
    """Wait until the bot has cached the user's Slack profile (it asks users.info after the ack)."""
    deadline = time.monotonic() + PROFILE_WAIT
    while time.monotonic() < deadline:
        with scene.bot.runtime.sessions.begin() as session:
            if session.get(SlackUser, _user_id(handle)) is not None:
                return True
        time.sleep(0.05)
    return False


def demo_step(scene: Scene) -> None:
    """Ask who is on call now, who is next, and when carol's shifts are (in her own time zone)."""
    say, expect, runtime, t = scene.transcript.say, scene.transcript.expect, scene.bot.runtime, scene.t
    team = runtime.config.teams[0]
    say("\n== " + t("Asking {command}: who is on call, who is next, and my own shifts", command="/oncall"))
    now = runtime.now()
    run_cycle(runtime, now)  # the cache holds what the scheduled refresh keeps there
    with runtime.sessions.begin() as session:  # what the cache says, to check each answer against
        [current] = oncall_view.on_call_now(session, runtime.config, [team], now)
    scene.sandbox.slack.clear_requests()

    shown = blocks_text(scene.slash("", user="alice"))
    expected = [person(p) for p in current.people or ()]
    expect(
        bool(expected) and all(p in shown for p in expected),
        t("{command} names who the cache says is on call", command="`/oncall`"),
    )
    expect(scene.words("as of {when}, {ago}") in shown, t("the answer says how fresh its data is"))
    # Asking made the bot fetch alice's profile (her zone, her email): once it is in, the next answer
    # may name her by it, so the expectation is read after it.
    _profile_cached(scene, "alice")
    with runtime.sessions.begin() as session:
        [upcoming] = oncall_view.next_on_call(session, runtime.config, [team], runtime.now())

    shown = blocks_text(scene.slash(f"next {team.name}", user="alice"))
    incoming = [person(p) for p in upcoming.incoming]
    expect(
        upcoming.at is not None and all(p in shown for p in incoming),
        t("{command} names the next person", command="`/oncall next`"),
    )

    first = blocks_text(scene.slash("me", user="carol"))
    unknown = scene.words("Times in {zone}: I do not know your Slack time zone yet.")
    expect(unknown in first, t("a first-time asker sees which zone is shown"))
    cached = _profile_cached(scene, "carol")
    say(
        "  » "
        + t("after answering, the bot looked up carol's time zone with users.info (off the ack's path)")
    )
    expect(cached, t("carol's Slack profile is cached"))
    again = blocks_text(scene.slash("me", user="carol"))
    expect(
        scene.t("Times in {zone}, your Slack time zone.", zone="Asia/Tokyo") in again and "JST" in again,
        t("asked again, carol sees her shifts in Tokyo time"),
    )
    methods = {r.method for r in scene.sandbox.slack.requests()}
    only = t("the only Slack calls were users.info for new askers, after the ack")
    expect(methods == {"users.info"}, only)
