"""JsmProvider's paging over both doors: the Ops REST API as the account, and an API integration's key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.domain import AlertRef, AlertRequest, AlertStatus
from app.providers import BadCredentials, BadResponse
from app.providers.jsm import JsmProvider
from app.sandbox.jsm import INTEGRATION_KEY, JsmSandbox, Rotation
from tests.providers.test_jsm import DAY, EMAIL, MONDAY, NAME, PEOPLE, SCHEDULE_ID, TOKEN, WEEK, Clock, make

ALERT = AlertRequest(
    message="checkout is down",
    description="Reported in Slack",
    alias="slack-C0DATA00001-1700000000.000100",
    schedule=NAME,
    priority="P2",
    tags=("oncall-bot", "slack", "data"),
    details={"team": "data", "permalink": "https://slack.example/p1"},
)


@pytest.fixture
def jsm() -> Iterator[JsmSandbox]:
    with JsmSandbox(email=EMAIL, api_token=TOKEN, clock=lambda: MONDAY + DAY) as sandbox:
        sandbox.add_schedule(
            NAME, schedule_id=SCHEDULE_ID, rotations=[Rotation("weekly", PEOPLE, MONDAY, WEEK)]
        )
        yield sandbox


@pytest.fixture(params=["rest", "integration"])
def door(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def provider(jsm: JsmSandbox, door: str) -> Iterator[JsmProvider]:
    key = INTEGRATION_KEY if door == "integration" else None
    with make(jsm, Clock(), integration_key=key) as client:
        yield client


def settle(provider: JsmProvider, request_id: str) -> AlertStatus:
    """Follow a request the way the escalation job does: until JSM has processed it."""
    for _ in range(5):
        status = provider.alert_status(request_id)
        if status.done:
            return status
    raise AssertionError("JSM never processed the request")


def test_an_alert_names_the_schedule_by_id_with_priority_alias_and_properties(
    jsm: JsmSandbox, provider: JsmProvider, door: str
) -> None:
    request_id = provider.create_alert(ALERT)
    assert provider.alert_status(request_id) == AlertStatus(
        done=False, message="JSM is still processing the alert request"
    )
    status = settle(provider, request_id)
    [alert] = jsm.alerts()
    assert (status.success, status.alert_id, status.message) == (True, alert["id"], "Created alert")
    assert alert["via"] == door
    assert alert["responders"] == [{"type": "schedule", "id": SCHEDULE_ID}]  # the name, looked up
    assert (alert["priority"], alert["alias"], alert["message"]) == ("P2", ALERT.alias, ALERT.message)
    assert alert["extraProperties"] == {"team": "data", "permalink": "https://slack.example/p1"}
    assert alert["tags"] == ["oncall-bot", "slack", "data"]
    create = next(r for r in jsm.requests() if r.method == "POST")
    assert create.authorization.startswith("GenieKey " if door == "integration" else "Basic ")
    # Following the request is always the account's read, whichever door raised the alert.
    assert all(r.authorization.startswith("Basic ") for r in jsm.requests("/alerts/requests/"))


def test_a_retried_create_is_deduplicated_by_alias(jsm: JsmSandbox, provider: JsmProvider) -> None:
    first = settle(provider, provider.create_alert(ALERT))
    again = settle(provider, provider.create_alert(ALERT))
    assert again.alert_id == first.alert_id
    assert again.message == "Alert deduplicated"
    [alert] = jsm.alerts()
    assert alert["count"] == 2


def test_acknowledge_and_close_by_id_or_alias_carry_the_note(jsm: JsmSandbox, provider: JsmProvider) -> None:
    created = settle(provider, provider.create_alert(ALERT))
    ack = provider.acknowledge_alert(AlertRef(ALERT.alias), note="on it")  # alias only: looked up
    assert settle(provider, ack).success
    close = provider.close_alert(AlertRef(ALERT.alias, created.alert_id), note="fixed")
    assert settle(provider, close).success
    [alert] = jsm.alerts()
    assert (alert["acknowledged"], alert["status"], alert["notes"]) == (True, "closed", ["on it", "fixed"])
    assert provider.alert_url(AlertRef(ALERT.alias, created.alert_id)) is None


def test_the_paging_probe_raises_nothing(jsm: JsmSandbox, provider: JsmProvider, door: str) -> None:
    tried = provider.probe_paging()
    assert ("JSM_INTEGRATION_KEY accepted" if door == "integration" else "alert API accepts") in tried
    assert jsm.alerts() == []


def test_a_wrong_integration_key_names_its_variable(jsm: JsmSandbox) -> None:
    with make(jsm, Clock(), integration_key="not-the-key-0000") as provider:
        with pytest.raises(BadCredentials, match="check JSM_INTEGRATION_KEY") as caught:
            provider.create_alert(ALERT)
        with pytest.raises(BadCredentials, match="JSM_INTEGRATION_KEY"):
            provider.probe_paging()
    assert "not-the-key-0000" not in str(caught.value)
    assert jsm.alerts() == []


def test_acting_on_an_alert_jsm_no_longer_has_is_a_bad_response(provider: JsmProvider, door: str) -> None:
    if door == "integration":
        request_id = provider.acknowledge_alert(AlertRef("nobody-has-this"))
        assert settle(provider, request_id) == AlertStatus(
            done=True, success=False, alert_id=None, message="Alert does not exist"
        )
    else:
        with pytest.raises(BadResponse, match="no alert with the escalation's alias"):
            provider.acknowledge_alert(AlertRef("nobody-has-this"))


def test_the_alert_state_is_read_as_the_account_whichever_door_pages(
    jsm: JsmSandbox, provider: JsmProvider
) -> None:
    assert provider.alert_state(AlertRef(ALERT.alias)) is None
    created = settle(provider, provider.create_alert(ALERT))
    state = provider.alert_state(AlertRef(ALERT.alias))
    assert state is not None
    assert (state.alert_id, state.status) == (created.alert_id, "open")
    jsm.close_alert(ALERT.alias, by="dave@corp.example")  # in JSM's web app, outside Slack
    closed = provider.alert_state(AlertRef(ALERT.alias, created.alert_id))
    assert closed is not None
    assert (closed.status, closed.by) == ("closed", "dave@corp.example")
