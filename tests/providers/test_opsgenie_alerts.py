"""Opsgenie's part of the pager-neutral paging protocol: acknowledge, close and a link, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.domain import AlertRef, AlertRequest
from app.providers.opsgenie import OpsgenieProvider
from app.providers.tuning import Tuning
from app.sandbox.opsgenie import OpsgenieSandbox

KEY = "og-alerts-key"


@pytest.fixture
def og() -> Iterator[OpsgenieSandbox]:
    """An empty Opsgenie sandbox that processes requests at once."""
    with OpsgenieSandbox(api_key=KEY) as sandbox:
        sandbox.alert_processing_polls = 0
        yield sandbox


@pytest.fixture
def provider(og: OpsgenieSandbox) -> Iterator[OpsgenieProvider]:
    """A provider on the sandbox with a web URL for links."""
    with OpsgenieProvider(
        KEY, og.url, web_url="https://acme.app.opsgenie.com/", tuning=Tuning(timeout=2.0)
    ) as client:
        yield client


def _raise(provider: OpsgenieProvider, alias: str) -> str:
    request_id = provider.create_alert(AlertRequest(message="m", description="d", alias=alias, schedule="s"))
    alert_id = provider.alert_status(request_id).alert_id
    assert alert_id is not None
    return alert_id


def test_acknowledge_by_alias_then_close_by_id(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    alert_id = _raise(provider, "slack-C1-1.2")

    acked = provider.acknowledge_alert(AlertRef("slack-C1-1.2"), note="taken from Slack")
    status = provider.alert_status(acked)
    assert (status.done, status.success, status.alert_id) == (True, True, alert_id)
    [ack] = og.requests("/acknowledge")
    assert (ack.method, ack.path, ack.query["identifierType"]) == (
        "POST",
        "/v2/alerts/slack-C1-1.2/acknowledge",
        "alias",
    )
    assert ack.body == {"source": "oncall-bot", "note": "taken from Slack"}
    assert og.alerts()[0]["acknowledged"] is True

    closed = provider.close_alert(AlertRef("slack-C1-1.2", alert_id=alert_id))
    assert provider.alert_status(closed).success is True
    [close] = og.requests("/close")
    assert (close.path, close.query["identifierType"]) == (f"/v2/alerts/{alert_id}/close", "id")
    assert og.alerts()[0]["status"] == "closed"


def test_acknowledging_an_unknown_alert_is_reported_by_its_request(provider: OpsgenieProvider) -> None:
    status = provider.alert_status(provider.acknowledge_alert(AlertRef("never-raised")))
    assert (status.done, status.success, status.message) == (True, False, "Alert does not exist")


def test_alert_url_needs_the_web_url_and_the_alert_id(
    og: OpsgenieSandbox, provider: OpsgenieProvider
) -> None:
    assert provider.alert_url(AlertRef("a")) is None  # the alias alone names no page
    assert provider.alert_url(AlertRef("a", alert_id="abc-1")) == (
        "https://acme.app.opsgenie.com/alert/detail/abc-1/details"
    )
    with OpsgenieProvider(KEY, og.url) as bare:
        assert bare.alert_url(AlertRef("a", alert_id="abc-1")) is None


def test_the_alert_state_reads_open_acknowledged_and_closed_outside_slack(
    og: OpsgenieSandbox, provider: OpsgenieProvider
) -> None:
    assert provider.alert_state(AlertRef("slack-C1-9.9")) is None  # no alert with that alias: 404
    alert_id = _raise(provider, "slack-C1-3.4")
    opened = provider.alert_state(AlertRef("slack-C1-3.4"))
    assert opened is not None
    assert (opened.alert_id, opened.status) == (alert_id, "open")
    assert opened.url == f"https://acme.app.opsgenie.com/alert/detail/{alert_id}/details"
    provider.acknowledge_alert(AlertRef("slack-C1-3.4"), user="carol (U0CAROL0001)")
    acked = provider.alert_state(AlertRef("slack-C1-3.4", alert_id=alert_id))
    assert acked is not None
    assert (acked.status, acked.by) == ("acknowledged", "carol (U0CAROL0001)")
    og.close_alert("slack-C1-3.4", by="dave@corp.example")  # in Opsgenie's web app
    closed = provider.alert_state(AlertRef("slack-C1-3.4"))
    assert closed is not None
    assert (closed.status, closed.by, closed.closed) == ("closed", "dave@corp.example", True)
    [read] = og.requests(f"/v2/alerts/{alert_id}")
    assert (read.method, read.query["identifierType"]) == ("GET", "id")
