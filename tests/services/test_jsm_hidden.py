"""JSM's silent hiding through the real cycle: a schedule the account may no longer see answers empty lists.

The bot says so in one sentence (once, in the team channel) and keeps what it had: the user group is not
emptied, the cached shifts stay, and the recovery is said once JSM answers again.
"""

from __future__ import annotations

from datetime import timedelta

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, SCHEDULE, USERGROUP_ID, seed
from app.services.cycle import run_cycle
from app.store import repo
from tests.conftest import RuntimeFactory


def test_a_hidden_schedule_is_said_and_the_cache_kept(sandbox: Sandbox, make_runtime: RuntimeFactory) -> None:
    now = utc_now()
    runtime = make_runtime(seed(sandbox, now, provider="jsm").config_text)
    run_cycle(runtime, now)
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == ["U0CAROL0001"]
    with runtime.sessions.begin() as session:
        cached = repo.shifts_between(session, "data", now, now + timedelta(days=7))
    sandbox.jsm.hide_schedule(SCHEDULE)  # e.g. the bot's account left the schedule's team
    for minutes in (5, 10, 65):  # on-calls, then (an hour on) the timeline: both come back empty
        [report] = run_cycle(runtime, now + timedelta(minutes=minutes))
        assert not report.refresh.ok
        assert "probably may not see the schedule's team" in (report.refresh.error or "")
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == ["U0CAROL0001"]  # never emptied
    with runtime.sessions.begin() as session:
        assert repo.shifts_between(session, "data", now, now + timedelta(days=7)) == cached
    [said] = [m["text"] for m in sandbox.slack.messages(CHANNEL) if "unreachable" in m["text"]]
    assert "JSM answers empty lists instead of refusing" in said
    sandbox.jsm.hide_schedule(SCHEDULE, hidden=False)
    [report] = run_cycle(runtime, now + timedelta(minutes=70))
    assert report.refresh.ok
    assert [m for m in sandbox.slack.messages(CHANNEL) if "answers again" in m["text"]]
