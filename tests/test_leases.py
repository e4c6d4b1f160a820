"""The lease heartbeat: a held lease is renewed, a released one runs out, an expired one can be taken."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import select

from app.runtime import Runtime, utc_now
from app.sandbox import Sandbox
from app.sandbox.world import World
from app.services.escalation_lease import ESCALATION_LEASE
from app.store.leases import Leases
from app.store.models import Escalation
from tests.conftest import RuntimeFactory
from tests.services.test_escalation import PAGING, escalate
from tests.slack.test_mentions import rows


def test_the_heartbeat_renews_a_held_lease_and_a_dead_holder_s_lease_runs_out(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(PAGING)
    sandbox.opsgenie.down = True
    escalate(runtime, sandbox, "db down", utc_now())
    [row] = rows(runtime)
    live = Leases(timedelta(seconds=3), interval=timedelta(seconds=0.05))
    dead = Leases(timedelta(seconds=3))
    now = utc_now()
    with runtime.sessions.begin() as session:
        token = live.claim(session, ESCALATION_LEASE, now, Escalation.id == row.id)
    assert token is not None
    with runtime.sessions.begin() as session:  # held: nobody else may take it
        assert dead.claim(session, ESCALATION_LEASE, now, Escalation.id == row.id) is None

    live.start(runtime.sessions, utc_now)
    try:
        with live.holding(ESCALATION_LEASE, token):
            first = expiry(runtime, row.id)
            deadline = time.monotonic() + 5
            while expiry(runtime, row.id) == first and time.monotonic() < deadline:
                time.sleep(0.02)
            assert expiry(runtime, row.id) > first  # renewed by the heartbeat
        renewed = expiry(runtime, row.id)
        time.sleep(0.2)  # several beats: a lease no code holds any more is left to run out
        assert expiry(runtime, row.id) == renewed
    finally:
        live.stop()
    with runtime.sessions.begin() as session:  # one lease later it is free for another process
        assert dead.claim(session, ESCALATION_LEASE, renewed, Escalation.id == row.id) is not None


def expiry(runtime: Runtime, escalation_id: int) -> datetime | None:
    """The escalation's next_attempt_at: its lease's expiry while it is held."""
    with runtime.sessions() as session:
        return session.scalar(select(Escalation.next_attempt_at).where(Escalation.id == escalation_id))
