"""Several layers on call (primary and secondary rotations): the handover and /oncall say who is on which."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.sandbox import Sandbox
from app.sandbox.opsgenie import Rotation
from app.sandbox.world import SCHEDULE, seed
from app.services.cycle import run_cycle
from app.slack.blocks import message_text
from tests.conftest import BotFactory, RuntimeFactory
from tests.services.test_shift_handovers import (
    ALICE,
    AMSTERDAM,
    BOB,
    CAROL,
    handover_posts,
    local,
    rotation_config,
    step,
    wall,
)
from tests.slack.test_oncall_command import ask

DAVE = "U0DAVE00001"
MONDAY = local("2026-04-06", 9, AMSTERDAM)


def test_the_handover_says_who_hands_over_on_which_layer(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    seed(sandbox, MONDAY)
    second = (
        '[[teams.rotation.layers]]\npeople = ["carol@corp.example", "dave@corp.example"]\n'
        'shift = "1d"\nstart = "2026-04-02 09:00"\n'  # Thursday: carol, dave, carol, dave, carol on Monday
    )
    people = ("alice@corp.example", "U0BOB000001")
    config = rotation_config(AMSTERDAM, wall(MONDAY, -timedelta(days=4), AMSTERDAM), "12h", people=people)
    runtime = make_runtime(config + second)
    step(runtime, MONDAY - timedelta(minutes=1))
    step(runtime, MONDAY)  # layer 1: bob → alice; layer 2: dave → carol (the day shift)
    step(runtime, MONDAY + timedelta(hours=12))  # layer 1: alice → bob; layer 2: carol stays
    first, evening = (message_text(p).splitlines() for p in handover_posts(sandbox))
    assert first[1:3] == [f"*layer 1:* <@{BOB}> → <@{ALICE}>", f"*layer 2:* <@{DAVE}> → <@{CAROL}>"]
    assert evening[1:3] == [f"*layer 1:* <@{ALICE}> → <@{BOB}>", f"*layer 2:* <@{CAROL}> stays on call"]
    assert evening[3].startswith("*Shift:* Mon 6 Apr 21:00")


def test_oncall_shows_the_primary_and_the_secondary(sandbox: Sandbox, make_bot: BotFactory) -> None:
    now = datetime(2026, 4, 8, 12, 0, tzinfo=UTC)
    world = seed(sandbox, now)
    start = now - timedelta(days=14)
    primary = Rotation("primary", ["alice@corp.example", "bob@corp.example"], start, timedelta(days=7))
    secondary = Rotation(
        "secondary", ["carol@corp.example", "dave@corp.example"], start, timedelta(days=7), 2
    )
    sandbox.opsgenie.set_rotations(SCHEDULE, [primary, secondary])
    running = make_bot(world.config_text, clock=lambda: now)
    run_cycle(running.runtime, now)
    answer = ask(sandbox, "data", user=ALICE)
    assert answer.texts[0].startswith(f"*On call for data now:* primary: <@{ALICE}> · secondary: <@{CAROL}>")
