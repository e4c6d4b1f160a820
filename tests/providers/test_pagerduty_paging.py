"""PagerDutyProvider's paging through the Events API v2 sandbox: the event, severities, dedup, failures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.domain import AlertRef, AlertRequest, AlertStatus
from app.providers import BadCredentials, BadResponse, RateLimited
from app.providers.pagerduty import PagerDutyProvider
from app.sandbox.pagerduty import ROUTING_KEY, PagerDutySandbox
from tests.providers.test_pagerduty import TOKEN, Clock, make

PERMALINK = "https://corp.slack.com/archives/C0DATA00001/p1700000000000100"


def alert(
    priority: str = "P3", alias: str = "slack-C0DATA00001-1700000000.000100", **extra: object
) -> AlertRequest:
    """An escalation's alert as the escalation service builds it."""
    details = {"channel": "C0DATA00001", "team": "data", "permalink": PERMALINK}
    fields: dict[str, object] = {
        "message": "pipeline is down",
        "description": "pipeline is down\n\nReported in Slack by alice.",
        "alias": alias,
        "schedule": "PSCHED01",
        "priority": priority,
        "tags": ("oncall-bot", "slack", "data"),
        "details": details,
        **extra,
    }
    return AlertRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pd(clock: Clock) -> Iterator[PagerDutySandbox]:
    with PagerDutySandbox(api_token=TOKEN, monotonic=clock) as sandbox:
        yield sandbox


@pytest.fixture
def provider(pd: PagerDutySandbox, clock: Clock) -> Iterator[PagerDutyProvider]:
    with make(pd, clock) as client:
        yield client


def test_a_page_is_one_trigger_event_with_the_thread_attached(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    request_id = provider.create_alert(alert())
    assert request_id == "slack-C0DATA00001-1700000000.000100"
    [event] = pd.events()
    assert (event["routing_key"], event["event_action"], event["dedup_key"]) == (
        ROUTING_KEY,
        "trigger",
        request_id,
    )
    payload = event["payload"]
    assert (payload["summary"], payload["source"], payload["severity"], payload["group"]) == (
        "pipeline is down",
        "oncall-bot",
        "warning",
        "data",
    )
    assert payload["custom_details"]["description"].startswith("pipeline is down")
    assert payload["custom_details"]["tags"] == ["oncall-bot", "slack", "data"]
    assert event["links"] == [{"href": PERMALINK, "text": "Slack thread"}]
    assert event["client_url"] == PERMALINK
    assert pd.requests(host="rest") == []  # paging needs no REST call at all


@pytest.mark.parametrize(
    ("priority", "severity"),
    [("P1", "critical"), ("P2", "error"), ("P3", "warning"), ("P4", "info"), ("P5", "info")],
)
def test_priorities_map_to_severities(
    pd: PagerDutySandbox, provider: PagerDutyProvider, priority: str, severity: str
) -> None:
    provider.create_alert(alert(priority))
    assert pd.incidents()[0]["severity"] == severity


def test_a_repeated_page_of_one_escalation_opens_one_incident(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    first = provider.create_alert(alert())
    second = provider.create_alert(alert())
    assert first == second
    assert [(i["dedup_key"], i["triggers"]) for i in pd.incidents()] == [(first, 2)]


def test_the_event_is_answered_at_once(provider: PagerDutyProvider) -> None:
    request_id = provider.create_alert(alert())
    assert provider.alert_status(request_id) == AlertStatus(
        done=True, success=True, alert_id=request_id, message="Event processed"
    )


def test_acknowledge_and_close_move_the_incident(pd: PagerDutySandbox, provider: PagerDutyProvider) -> None:
    key = provider.create_alert(alert())
    assert provider.acknowledge_alert(AlertRef(alias="ignored", alert_id=key), note="on it") == key
    assert pd.incidents()[0]["status"] == "acknowledged"
    assert provider.close_alert(AlertRef(alias=alert().alias)) == key  # by alias: the same dedup key
    assert pd.incidents()[0]["status"] == "resolved"
    assert [e["event_action"] for e in pd.events()] == ["trigger", "acknowledge", "resolve"]
    # The incident's web page, looked up over REST by dedup key (events answer with the key only).
    incident_id = pd.incidents()[0]["id"]
    assert provider.alert_url(AlertRef(alias=key, alert_id=key)) == f"{pd.web_url}/incidents/{incident_id}"


def test_a_presser_pagerduty_knows_is_credited_through_the_rest_api_as_from(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    pd.add_user("carol@corp.example", name="Carol")
    key = provider.create_alert(alert())
    provider.acknowledge_alert(
        AlertRef(alias=alert().alias), user="carol (U0CAROL0001)", email="carol@corp.example"
    )
    [put] = [r for r in pd.requests("/incidents/") if r.method == "PUT"]
    assert put.headers["from"] == "carol@corp.example"
    assert put.body == {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    state = provider.alert_state(AlertRef(alias=alert().alias))
    assert state is not None
    assert (state.alert_id, state.status, state.by) == (key, "acknowledged", "Carol")
    assert [e["event_action"] for e in pd.events()] == ["trigger"]  # no event: the REST API did it


def test_a_presser_pagerduty_does_not_know_falls_back_to_an_unnamed_event(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    key = provider.create_alert(alert())
    provider.close_alert(AlertRef(alias=alert().alias, alert_id=key), email="stranger@elsewhere.example")
    assert [r.status for r in pd.requests("/incidents/") if r.method == "PUT"] == [
        400
    ]  # Requester User Not Found
    assert [e["event_action"] for e in pd.events()] == ["trigger", "resolve"]
    state = provider.alert_state(AlertRef(alias=alert().alias))
    assert state is not None
    assert state.closed


def test_the_alert_state_of_an_incident_resolved_in_pagerduty_and_of_none(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    assert provider.alert_state(AlertRef(alias="slack-C0DATA00001-1.000001")) is None
    pd.add_user("bob@corp.example", name="Bob")
    key = provider.create_alert(alert())
    pd.resolve_incident(key, by="bob@corp.example")
    state = provider.alert_state(AlertRef(alias=alert().alias))
    assert state is not None
    assert (state.status, state.by, state.closed) == ("closed", "Bob", True)


def test_long_texts_are_trimmed_and_long_aliases_hashed(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    key = provider.create_alert(alert(alias="a" * 300, message="m" * 2000))
    assert len(key) <= 255
    assert provider.create_alert(alert(alias="a" * 300)) == key  # stable: the same escalation, the same key
    assert len(pd.incidents()[0]["summary"]) == 1024
    assert len(pd.incidents()) == 1


def test_no_routing_key_is_bad_credentials_and_sends_nothing(pd: PagerDutySandbox, clock: Clock) -> None:
    with (
        make(pd, clock, routing_key=None, routing_key_env="PD_KEY_DATA") as provider,
        pytest.raises(BadCredentials, match="PD_KEY_DATA is not set") as caught,
    ):
        provider.create_alert(alert())
    assert not caught.value.retryable
    assert pd.requests() == []


def test_an_unknown_routing_key_is_bad_credentials_without_the_key(
    pd: PagerDutySandbox, clock: Clock
) -> None:
    unknown = "R0UNKNOWN0SERVICE0KEY00000000009"
    with (
        make(pd, clock, routing_key=unknown) as provider,
        pytest.raises(BadCredentials, match="refused the routing key") as caught,
    ):
        provider.create_alert(alert())
    assert "PAGERDUTY_ROUTING_KEY" in str(caught.value)
    assert unknown not in str(caught.value)
    assert not caught.value.retryable


def test_throttled_events_are_retried_then_rate_limited(
    pd: PagerDutySandbox, clock: Clock, provider: PagerDutyProvider
) -> None:
    pd.fail(429, times=2, path_contains="/v2/enqueue")
    provider.create_alert(alert())
    assert len(pd.incidents()) == 1
    pd.events_per_minute = 1
    with pytest.raises(RateLimited, match="Events API is rate limiting this routing key") as caught:
        provider.create_alert(alert(alias="other"))
    assert caught.value.retryable


def test_a_5xx_is_retried_and_the_retry_lands_once(pd: PagerDutySandbox, provider: PagerDutyProvider) -> None:
    pd.fail(502, path_contains="/v2/enqueue")
    provider.create_alert(alert())
    assert [r.status for r in pd.requests("/v2/enqueue")] == [502, 202]
    assert len(pd.incidents()) == 1


def test_an_invalid_event_is_a_bad_response_that_is_not_retried(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    with pytest.raises(BadResponse, match=r"'payload\.source' is missing or blank") as caught:
        provider.create_alert(alert(source=""))
    assert not caught.value.retryable
    assert len(pd.requests("/v2/enqueue")) == 1


def test_check_reads_the_account_and_never_sends_an_event(
    pd: PagerDutySandbox, clock: Clock, provider: PagerDutyProvider
) -> None:
    provider.check()
    assert [r.path for r in pd.requests()] == ["/abilities"]
    with (
        make(pd, clock, routing_key="not-a-key") as broken,
        pytest.raises(BadCredentials, match="32 letters"),
    ):
        broken.check()
    assert pd.events() == []


def test_a_read_only_key_acknowledges_through_the_events_api_instead(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    pd.add_user("carol@corp.example", name="Carol")
    key = provider.create_alert(alert())
    pd.fail(403, path_contains="/incidents/", times=1)  # the REST key may read, not write
    assert provider.acknowledge_alert(AlertRef(alias=alert().alias), email="carol@corp.example") == key
    assert [e["event_action"] for e in pd.events()] == ["trigger", "acknowledge"]
    assert pd.incidents()[0]["status"] == "acknowledged"
