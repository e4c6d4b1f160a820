"""A team moving from Opsgenie to JSM, cycle by cycle on one database: people are compared as Slack users.

Carol's pager identity changes from her email to her account id (Jira hides her email); she is the same
Slack user, so the move is no shift change. A real change that JSM's schedule brings is still announced.
"""

from __future__ import annotations

from datetime import timedelta

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.jsm import account_id_for
from app.sandbox.world import CHANNEL, PEOPLE_LINE, SCHEDULE, USERGROUP_ID, World, seed
from app.services.cycle import run_cycle
from app.store import repo
from tests.conftest import RuntimeFactory

CAROL = "U0CAROL0001"


def move(world: World) -> str:
    """The teams file after the move: provider = "jsm", the same schedule, carol's [people] line."""
    return (
        world.config_text.replace('escalate = "tag"\n', 'escalate = "tag"\nprovider = "jsm"\n') + PEOPLE_LINE
    )


def shift_changes(sandbox: Sandbox) -> list[str]:
    return [m["text"] for m in sandbox.slack.messages(CHANNEL) if m["text"].startswith("Shift change")]


def test_the_move_is_no_shift_change_and_keeps_the_shift(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    now = utc_now()
    world = seed(sandbox, now)
    run_cycle(make_runtime(world.config_text), now)
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL]
    runtime = make_runtime(move(world))
    with runtime.sessions.begin() as session:
        started = repo.latest_snapshot(session, "data").first_seen_at
    for minutes in (5, 10):  # on-calls first (they disagree with the cached timeline), then the timeline
        [report] = run_cycle(runtime, now + timedelta(minutes=minutes))
        assert report.refresh.ok, report.refresh.error
        assert report.sync.action == "unchanged"
    assert report.refresh.timeline_read
    assert shift_changes(sandbox) == []
    with runtime.sessions.begin() as session:
        latest = repo.latest_snapshot(session, "data")
        assert (latest.people, latest.first_seen_at) == ([account_id_for("carol@corp.example")], started)


def test_a_real_change_at_the_move_is_still_announced(sandbox: Sandbox, make_runtime: RuntimeFactory) -> None:
    now = utc_now()
    world = seed(sandbox, now)
    run_cycle(make_runtime(world.config_text), now)
    # JSM's copy of the schedule differs: from tomorrow bob covers carol's remaining week.
    sandbox.jsm.add_override(SCHEDULE, "bob@corp.example", now + timedelta(days=1), now + timedelta(days=2))
    runtime = make_runtime(move(world))
    for minutes in (5, 10, 71):  # the timeline twice (hourly): the change is told once stable
        run_cycle(runtime, now + timedelta(minutes=minutes))
    [notice] = shift_changes(sandbox)
    assert "carol \u2192 bob" in notice
