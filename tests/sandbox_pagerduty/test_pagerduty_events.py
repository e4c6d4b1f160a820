"""The PagerDuty sandbox's Events API v2 over real HTTP: validation, deduplication, incidents, limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.sandbox.pagerduty import ROUTING_KEY, PagerDutySandbox

OTHER_KEY = "R0OTHER0SERVICE0KEY0000000000002"


class Clock:
    """A monotonic clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pd(clock: Clock) -> Iterator[PagerDutySandbox]:
    with PagerDutySandbox(monotonic=clock) as sandbox:
        yield sandbox


@pytest.fixture
def events(pd: PagerDutySandbox) -> Iterator[httpx.Client]:
    """A plain client on the Events host: no Authorization header, the routing key goes in the body."""
    with httpx.Client(base_url=pd.events_url, timeout=5) as http:
        yield http


def trigger(
    dedup_key: str | None = "slack-C1-1.2", routing_key: str = ROUTING_KEY, **payload: Any
) -> dict[str, Any]:
    """A valid trigger event (``payload`` fields override the defaults)."""
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": {"summary": "DB down", "source": "oncall-bot", "severity": "critical", **payload},
    }
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    return event


def test_a_trigger_is_processed_and_opens_an_incident(pd: PagerDutySandbox, events: httpx.Client) -> None:
    answer = events.post("/v2/enqueue", json=trigger())
    assert answer.status_code == 202
    assert answer.json() == {"status": "success", "message": "Event processed", "dedup_key": "slack-C1-1.2"}
    [incident] = pd.incidents()
    assert (incident["status"], incident["dedup_key"], incident["severity"], incident["summary"]) == (
        "triggered",
        "slack-C1-1.2",
        "critical",
        "DB down",
    )
    assert pd.requests(host="events")[0].path == "/v2/enqueue"
    assert pd.requests(host="rest") == []


def test_a_second_trigger_with_the_same_dedup_key_opens_no_second_incident(
    pd: PagerDutySandbox, events: httpx.Client
) -> None:
    for _ in range(2):
        assert events.post("/v2/enqueue", json=trigger()).status_code == 202
    events.post("/v2/enqueue", json=trigger("other"))
    assert [(i["dedup_key"], i["triggers"]) for i in pd.incidents()] == [("slack-C1-1.2", 2), ("other", 1)]
    assert len(pd.events()) == 3


def test_acknowledge_and_resolve_move_the_incident_and_a_new_trigger_reopens(
    pd: PagerDutySandbox, events: httpx.Client
) -> None:
    events.post("/v2/enqueue", json=trigger())
    events.post(
        "/v2/enqueue",
        json={"routing_key": ROUTING_KEY, "event_action": "acknowledge", "dedup_key": "slack-C1-1.2"},
    )
    assert pd.incidents()[0]["status"] == "acknowledged"
    events.post(
        "/v2/enqueue",
        json={"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "slack-C1-1.2"},
    )
    events.post("/v2/enqueue", json=trigger())
    assert [i["status"] for i in pd.incidents()] == ["resolved", "triggered"]


def test_a_trigger_without_dedup_key_gets_one(events: httpx.Client) -> None:
    key = events.post("/v2/enqueue", json=trigger(None)).json()["dedup_key"]
    assert len(key) == 32


@pytest.mark.parametrize(
    ("event", "complaint"),
    [
        (trigger(routing_key="short"), "Length of 'routing_key' is incorrect (should be 32 characters)"),
        (
            trigger(routing_key="R0SANDBOX-ROUTING-KEY-0000000001"),
            "'routing_key' cannot contain non-alphanumeric characters.",
        ),
        ({**trigger(), "event_action": "page"}, "'event_action' is invalid"),
        (trigger("k" * 256), "'dedup_key' is too long (should be at most 255 characters)"),
        (trigger(summary="x" * 1025), "'payload.summary' is too long (should be at most 1024 characters)"),
        (trigger(summary=" "), "'payload.summary' is missing or blank"),
        (trigger(source=""), "'payload.source' is missing or blank"),
        (trigger(severity="P1"), "'payload.severity' is invalid"),
        ({"routing_key": ROUTING_KEY, "event_action": "resolve"}, "'dedup_key' is missing or blank"),
        ({"routing_key": ROUTING_KEY, "event_action": "trigger"}, "'payload' is missing or blank"),
    ],
)
def test_invalid_events_are_400_with_pagerdutys_complaints(
    pd: PagerDutySandbox, events: httpx.Client, event: dict[str, Any], complaint: str
) -> None:
    answer = events.post("/v2/enqueue", json=event)
    assert answer.status_code == 400
    body = answer.json()
    assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
    assert any(error.startswith(complaint) for error in body["errors"]), body["errors"]
    assert pd.incidents() == []


def test_limits_themselves_are_fine(events: httpx.Client) -> None:
    assert events.post("/v2/enqueue", json=trigger("k" * 255, summary="x" * 1024)).status_code == 202


def test_unknown_routing_key_and_bad_json(pd: PagerDutySandbox, events: httpx.Client) -> None:
    unknown = events.post("/v2/enqueue", json=trigger(routing_key=OTHER_KEY))
    assert (unknown.status_code, unknown.json()["errors"]) == (400, ["Invalid routing key"])
    pd.add_routing_key(OTHER_KEY)
    assert events.post("/v2/enqueue", json=trigger(routing_key=OTHER_KEY)).status_code == 202
    garbled = events.post("/v2/enqueue", content=b"{nope")
    assert (garbled.status_code, garbled.json()["status"]) == (400, "Unrecognized object")
    assert events.get("/v2/enqueue").status_code == 404


def test_each_routing_key_takes_about_120_events_a_minute(
    pd: PagerDutySandbox, events: httpx.Client, clock: Clock
) -> None:
    pd.events_per_minute = 3
    pd.add_routing_key(OTHER_KEY)
    codes = [events.post("/v2/enqueue", json=trigger(str(n))).status_code for n in range(4)]
    assert codes == [202, 202, 202, 429]
    assert events.post("/v2/enqueue", json=trigger("x", routing_key=OTHER_KEY)).status_code == 202
    throttled = events.post("/v2/enqueue", json=trigger("4"))
    assert throttled.json()["status"] == "throttle event"
    clock.now += 61
    assert events.post("/v2/enqueue", json=trigger("5")).status_code == 202
    assert len(pd.incidents()) == 5


def test_injected_faults_use_the_events_error_shape(pd: PagerDutySandbox, events: httpx.Client) -> None:
    pd.fail(500, path_contains="/v2/enqueue")
    failed = events.post("/v2/enqueue", json=trigger())
    assert failed.status_code == 500
    assert set(failed.json()) == {"status", "message"}
    pd.fail(429, path_contains="/v2/enqueue")
    assert events.post("/v2/enqueue", json=trigger()).json()["status"] == "throttle event"
    assert events.post("/v2/enqueue", json=trigger()).status_code == 202
    assert len(pd.incidents()) == 1
