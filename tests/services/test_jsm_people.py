"""JSM's people through the real cycle: emails where Jira shows them, [people] lines for account ids.

Carol hides her email in Atlassian, so JSM's schedule names her by account id only. Slack is never asked
to look an account id up by email; the channel is told exactly which [people] line reaches her.
"""

from __future__ import annotations

from datetime import timedelta

from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.jsm import account_id_for
from app.sandbox.world import CHANNEL, PEOPLE_LINE, USERGROUP_ID, seed
from app.services.cycle import run_cycle
from tests.conftest import RuntimeFactory

CAROL_ID, CAROL = account_id_for("carol@corp.example"), "U0CAROL0001"


def lookups(sandbox: Sandbox) -> list[str]:
    return [str(r.params.get("email")) for r in sandbox.slack.requests("users.lookupByEmail")]


def test_a_people_line_maps_an_account_id_whose_email_jira_hides(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    now = utc_now()
    world = seed(sandbox, now, provider="jsm")
    runtime = make_runtime(world.config_text)
    [report] = run_cycle(runtime, now)
    assert report.refresh.people == (CAROL_ID,)
    assert report.sync.action == "updated"
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == [CAROL]
    assert CAROL_ID not in lookups(sandbox)
    assert "alice@corp.example" in lookups(sandbox)  # next week's person, shown by /oncall next: by email
    assert not [m for m in sandbox.slack.messages(CHANNEL) if ":warning:" in m["text"]]


def test_without_the_line_the_channel_is_told_exactly_what_to_add(
    sandbox: Sandbox, make_runtime: RuntimeFactory
) -> None:
    now = utc_now()
    world = seed(sandbox, now, provider="jsm")
    runtime = make_runtime(world.config_text.replace(PEOPLE_LINE, "\n"))
    [report] = run_cycle(runtime, now)
    assert report.sync.action == "skipped_empty"  # never an empty group; dave stays until carol is mapped
    assert sandbox.slack.usergroup_members(USERGROUP_ID) == ["U0DAVE00001"]
    [unmapped] = [m["text"] for m in sandbox.slack.messages(CHANNEL) if "is on call but" in m["text"]]
    assert f"{CAROL_ID} is on call but has no email the pager shows" in unmapped
    assert f'adding `"{CAROL_ID}" = "U…"` (their Slack member ID) under `[people]`' in unmapped
    assert CAROL_ID not in lookups(sandbox)
    # Said once per shift: the next cycles stay quiet.
    for minutes in (5, 10):
        run_cycle(runtime, now + timedelta(minutes=minutes))
    assert len([m for m in sandbox.slack.messages(CHANNEL) if "is on call but" in m["text"]]) == 1
