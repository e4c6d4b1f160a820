"""The minute job plans each team's handovers from its cached timeline once per change of the cache."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from app.runtime import Runtime
from app.sandbox import Sandbox
from app.sandbox.world import World
from app.services import handover_plan
from app.services.cycle import run_cycle
from app.services.shift_tick import shift_tick
from app.store.db import reading
from tests.conftest import RuntimeFactory
from tests.db_watch import statements_sent
from tests.services.test_shift_handovers import AMSTERDAM, local, rotation_config, step


def shift_reads(runtime: Runtime) -> AbstractContextManager[list[str]]:
    """The statements that read the shifts table while the block runs."""
    return statements_sent(runtime, "FROM shifts")


def _next(runtime: Runtime, now: datetime) -> handover_plan.Planned | None:
    team = runtime.config.teams[0]
    with reading(runtime.sessions) as session:
        return handover_plan.next_after(session, team, now)


def test_a_tick_rereads_no_timeline_until_a_refresh_by_any_replica_changes_it(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    first = local("2026-04-06", 9, AMSTERDAM)  # a Monday; daily turns at 09:00
    runtime = make_runtime(rotation_config(AMSTERDAM, first - timedelta(days=3), "1d"))
    step(runtime, first + timedelta(hours=1))
    with shift_reads(runtime) as found:
        shift_tick(runtime, first + timedelta(hours=1, minutes=1))
    # Before: each team's 200-shift timeline read and folded four to six times a tick.
    assert found == []
    planned = _next(runtime, first + timedelta(hours=2))
    assert planned is not None
    assert planned.start == first + timedelta(days=1)
    # Another replica (same database) refreshes a timeline with an override this afternoon.
    override = (
        "[[teams.rotation.overrides]]\n"
        'person = "dave@corp.example"\nstart = "2026-04-06 14:00"\nend = "2026-04-06 20:00"\n'
    )
    other = make_runtime(rotation_config(AMSTERDAM, first - timedelta(days=3), "1d", extra=override))
    run_cycle(other, first + timedelta(hours=3))
    planned = _next(runtime, first + timedelta(hours=3))
    assert planned is not None
    assert planned.start == first + timedelta(hours=5)
    assert planned.incoming == ("dave@corp.example",)
