"""An alert closed or acknowledged at the pager (outside Slack) reaches its thread, for every pager.

The real bot pages through each pager's sandbox; then someone acts on the alert in the pager's own web
app (the sandbox's knob); the read-back job (``AlertWatch``) brings the thread's outcome message up to date
once, and the escalation stops counting as open.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.domain import AlertRef
from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import World, teams_toml
from app.services.alert_sync import AlertWatch
from app.slack import escalation_buttons
from tests.conftest import BotFactory
from tests.slack.test_escalation_buttons import _button_ids
from tests.slack.test_mentions import BOB, fill_cache, mention, rows, run_job, thread, wait_until


def config(provider: str) -> str:
    extra = f'provider = "{provider}"\n' if provider != "opsgenie" else ""
    return teams_toml(extra, escalate="page")


def close_at_pager(sandbox: Sandbox, provider: str, alias: str) -> None:
    """Someone closes the alert in the pager's web app."""
    if provider == "opsgenie":
        sandbox.opsgenie.close_alert(alias, by="dave@corp.example")
    elif provider == "jsm":
        sandbox.jsm.close_alert(alias, by="dave@corp.example")
    else:
        sandbox.pagerduty.add_user("dave@corp.example", name="Dave")
        sandbox.pagerduty.resolve_incident(alias, by="dave@corp.example")


def paged(sandbox: Sandbox, make_bot: BotFactory, provider: str) -> tuple[Any, str, dict[str, Any]]:
    """A mention that paged through ``provider``: the bot, the thread and its outcome message."""
    sandbox.opsgenie.alert_processing_polls = 0
    sandbox.jsm.alert_processing_polls = 0
    bot = make_bot(config(provider))
    fill_cache(bot.runtime, utc_now(), {"bob@corp.example": BOB})
    _, ts = mention(sandbox, "page: the nightly export is stuck")
    assert run_job(bot.runtime, ts) == 1
    outcome = wait_until(lambda: len(thread(sandbox, ts)) == 2 and thread(sandbox, ts)[1])
    assert _button_ids(outcome) == [escalation_buttons.ACK_ACTION, escalation_buttons.RESOLVE_ACTION]
    return bot, ts, outcome


@pytest.mark.parametrize("provider", ["opsgenie", "pagerduty", "jsm"])
def test_an_alert_closed_at_the_pager_closes_the_escalation_and_its_buttons_go(
    sandbox: Sandbox, world: World, make_bot: BotFactory, provider: str
) -> None:
    bot, ts, _ = paged(sandbox, make_bot, provider)
    [row] = rows(bot.runtime)
    watch = AlertWatch()
    assert watch.run(bot.runtime, utc_now()) == 0  # still open: nothing to say
    close_at_pager(sandbox, provider, row.alias)

    assert watch.run(bot.runtime, utc_now()) == 1
    updated = thread(sandbox, ts)[1]
    shown = json.dumps(updated)
    pager = {"opsgenie": "Opsgenie", "pagerduty": "PagerDuty", "jsm": "JSM"}[provider]
    who = "Dave" if provider == "pagerduty" else "dave@corp.example"
    assert f"Closed in {pager} by {who}, outside Slack." in shown
    assert "Paged:" in shown  # the confirmation itself stays
    assert _button_ids(updated) == []
    [row] = rows(bot.runtime)
    assert row.closed_at is not None
    assert row.closed_by is None  # nobody in Slack
    updates = len(sandbox.slack.requests("chat.update"))
    assert watch.run(bot.runtime, utc_now()) == 0  # said once
    assert len(sandbox.slack.requests("chat.update")) == updates


def test_an_alert_acknowledged_at_the_pager_keeps_only_resolve_which_still_works(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot, ts, _ = paged(sandbox, make_bot, "opsgenie")
    [alert] = sandbox.opsgenie.alerts()
    # Dave acknowledges in Opsgenie's app (the same API call the app makes).
    ref = AlertRef(alias=alert["alias"], alert_id=alert["id"])
    bot.runtime.providers.for_team("data").acknowledge_alert(ref, user="dave@corp.example")
    assert AlertWatch().run(bot.runtime, utc_now()) == 1
    updated = thread(sandbox, ts)[1]
    assert "Acknowledged in Opsgenie by dave@corp.example." in json.dumps(updated)
    assert _button_ids(updated) == [escalation_buttons.RESOLVE_ACTION]
    sandbox.slack.socket.push_block_action(updated, escalation_buttons.RESOLVE_ACTION, user=BOB)
    resolved = wait_until(lambda: (m := thread(sandbox, ts)[1]) and "Resolved by" in json.dumps(m) and m)
    assert _button_ids(resolved) == []
    assert wait_until(lambda: sandbox.opsgenie.alerts()[0]["status"] == "closed")


def test_a_pagerduty_press_credits_the_presser_as_from_when_pagerduty_knows_their_email(
    sandbox: Sandbox, world: World, make_bot: BotFactory
) -> None:
    bot, ts, outcome = paged(sandbox, make_bot, "pagerduty")
    sandbox.slack.socket.push_block_action(outcome, escalation_buttons.ACK_ACTION, user=BOB)
    [put] = wait_until(lambda: [r for r in sandbox.pagerduty.requests("/incidents/") if r.method == "PUT"])
    assert put.headers["from"] == "bob@corp.example"  # bob's Slack email is a PagerDuty user's
    assert put.status == 200
    assert [e["event_action"] for e in sandbox.pagerduty.events()] == ["trigger"]  # not an unnamed event
    [incident] = sandbox.pagerduty.incidents()
    assert incident["status"] == "acknowledged"
    assert incident["changed_by"]["id"] == sandbox.pagerduty.user_id("bob@corp.example")  # credited
    wait_until(lambda: "Acknowledged by" in json.dumps(thread(sandbox, ts)[1]))
    [row] = rows(bot.runtime)
    assert row.acked_by == BOB
