"""The JSM sandbox over real HTTP: its wire formats, auth, the silent hiding, alerts and faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.sandbox.jsm import JsmSandbox, Rotation, account_id_for

MONDAY = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
WEEK, DAY = timedelta(days=7), timedelta(days=1)
PEOPLE = ["alice@x.com", "bob@x.com", "carol@x.com"]
ALICE, BOB, CAROL = (account_id_for(p) for p in PEOPLE)
SCHEDULE = "5c0e7e2f-0b8a-4c1d-9e3f-7a6b5c4d3e2f"


@pytest.fixture
def jsm() -> Iterator[JsmSandbox]:
    """'Platform': weekly alice → bob → carol from 2024-01-01 09:00 Amsterdam; carol hides her email."""
    with JsmSandbox(clock=lambda: MONDAY + DAY) as sandbox:
        sandbox.add_schedule(
            "Platform", schedule_id=SCHEDULE, rotations=[Rotation("weekly", PEOPLE, MONDAY, WEEK)]
        )
        sandbox.set_email_visible("carol@x.com", False)
        yield sandbox


@pytest.fixture
def ops(jsm: JsmSandbox) -> Iterator[httpx.Client]:
    """A plain httpx client on the Ops REST API, as the sandbox's account (no provider code involved)."""
    auth = httpx.BasicAuth(jsm.email, jsm.api_token)
    with httpx.Client(base_url=jsm.ops_url + "/v1", auth=auth, timeout=5) as http:
        yield http


def test_tenant_info_is_public_and_names_the_cloud_id(jsm: JsmSandbox) -> None:
    answer = httpx.get(jsm.site_url + "/_edge/tenant_info")
    assert answer.json() == {"cloudId": jsm.cloud_id}


def test_the_ops_api_wants_basic_auth_of_the_account(jsm: JsmSandbox) -> None:
    url = jsm.ops_url + "/v1/schedules"
    assert httpx.get(url).status_code == 401
    wrong = httpx.get(url, auth=httpx.BasicAuth(jsm.email, "not-the-token"))
    assert (wrong.status_code, wrong.json()) == (
        401,
        {"code": 401, "message": "Unauthorized; scope does not match"},
    )
    genie = httpx.get(url, headers={"Authorization": f"GenieKey {jsm.integration_key}"})
    assert genie.status_code == 401
    other_cloud = httpx.get(
        f"{jsm.api_url}/jsm/ops/api/00000000-0000-0000-0000-000000000000/v1/schedules",
        auth=httpx.BasicAuth(jsm.email, jsm.api_token),
    )
    assert other_cloud.status_code == 404


def test_schedules_are_paged_by_offset_and_size_with_links_next(jsm: JsmSandbox, ops: httpx.Client) -> None:
    for name in ("Alpha", "Beta", "Gamma"):
        jsm.add_schedule(name)
    first = ops.get("/schedules", params={"offset": 0, "size": 2}).json()
    assert [s["name"] for s in first["values"]] == ["Alpha", "Beta"]
    assert "rotations" not in first["values"][0]
    following = first["links"]["next"]
    assert following.startswith(jsm.ops_url + "/v1/schedules?offset=2&size=2")
    second = ops.get(following).json()
    assert [s["name"] for s in second["values"]] == ["Gamma", "Platform"]
    assert second["links"]["next"] is None
    jsm.max_page_size = 1
    assert len(ops.get("/schedules", params={"size": 100}).json()["values"]) == 1
    expanded = ops.get("/schedules", params={"size": 100, "expand": "rotation"}).json()
    assert expanded["values"][0]["rotations"] == []  # Alpha has none
    last = ops.get("/schedules", params={"size": 100, "offset": 3, "expand": "rotation"}).json()
    [platform] = last["values"]
    assert platform["rotations"][0]["participants"] == [
        {"type": "user", "id": a} for a in (ALICE, BOB, CAROL)
    ]
    assert {"id", "name", "timezone", "enabled", "teamId"} <= set(platform)


def test_on_calls_are_account_ids_flat_or_as_participants(ops: httpx.Client) -> None:
    at = {"date": "2024-01-09T12:00:00Z"}
    flat = ops.get(f"/schedules/{SCHEDULE}/on-calls", params={**at, "flat": "true"}).json()
    assert flat == {"onCallUsers": [BOB]}
    tree = ops.get(f"/schedules/{SCHEDULE}/on-calls", params=at).json()
    assert tree == {"onCallParticipants": [{"id": BOB, "type": "user"}]}
    upcoming = ops.get(f"/schedules/{SCHEDULE}/next-on-calls", params={**at, "flat": "true"}).json()
    assert upcoming == {"nextOnCallUsers": [CAROL], "exactNextOnCallUsers": [CAROL]}
    nested = ops.get(f"/schedules/{SCHEDULE}/next-on-calls", params=at).json()
    assert nested["nextOnCallParticipants"] == [{"id": CAROL, "type": "user"}]


def test_dates_must_be_iso_8601_with_an_escaped_plus(ops: httpx.Client) -> None:
    # An unescaped '+' in a query string arrives as a space: refused, as by the real API.
    answer = ops.get(f"/schedules/{SCHEDULE}/on-calls?date=2024-01-09T12:00:00+01:00")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["title"].startswith("Date [2024-01-09T12:00:00 01:00]")
    escaped = ops.get(
        f"/schedules/{SCHEDULE}/on-calls", params={"date": "2024-01-09T12:00:00+01:00", "flat": "true"}
    )
    assert escaped.json() == {"onCallUsers": [BOB]}


def test_the_timeline_names_each_periods_responder(jsm: JsmSandbox, ops: httpx.Client) -> None:
    jsm.add_override("Platform", "alice@x.com", MONDAY + 9 * DAY, MONDAY + 10 * DAY)
    params = {"date": "2024-01-08T08:00:00Z", "interval": "2", "intervalUnit": "weeks", "expand": "override"}
    body = ops.get(f"/schedules/{SCHEDULE}/timeline", params=params).json()
    assert (body["startDate"], body["endDate"]) == ("2024-01-08T08:00:00Z", "2024-01-22T08:00:00Z")
    assert "data" not in body  # no Opsgenie envelope
    [rotation] = body["finalTimeline"]["rotations"]
    periods = [(p["startDate"], p["endDate"], p["type"], p["responder"]) for p in rotation["periods"]]
    assert periods == [
        ("2024-01-08T08:00:00Z", "2024-01-10T08:00:00Z", "default", {"id": BOB, "type": "user"}),
        ("2024-01-10T08:00:00Z", "2024-01-11T08:00:00Z", "override", {"id": ALICE, "type": "user"}),
        ("2024-01-11T08:00:00Z", "2024-01-15T08:00:00Z", "default", {"id": BOB, "type": "user"}),
        ("2024-01-15T08:00:00Z", "2024-01-22T08:00:00Z", "default", {"id": CAROL, "type": "user"}),
    ]
    assert len(body["overrideTimeline"]["rotations"][0]["periods"]) == 1


def test_the_timeline_reaches_a_year_back_and_two_years_ahead(ops: httpx.Client) -> None:
    too_old = {"date": "2022-06-01T00:00:00Z", "interval": "1", "intervalUnit": "days"}
    assert ops.get(f"/schedules/{SCHEDULE}/timeline", params=too_old).status_code == 400
    too_far = {"date": "2025-12-01T00:00:00Z", "interval": "3", "intervalUnit": "months"}
    assert ops.get(f"/schedules/{SCHEDULE}/timeline", params=too_far).status_code == 400
    bad = {"interval": "0", "intervalUnit": "days"}
    assert ops.get(f"/schedules/{SCHEDULE}/timeline", params=bad).status_code == 400


def test_a_hidden_schedule_is_listed_but_answers_empty_lists(jsm: JsmSandbox, ops: httpx.Client) -> None:
    jsm.hide_schedule("Platform")
    assert [s["name"] for s in ops.get("/schedules").json()["values"]] == ["Platform"]
    flat = ops.get(f"/schedules/{SCHEDULE}/on-calls", params={"flat": "true"})
    assert (flat.status_code, flat.json()) == (200, {"onCallUsers": []})
    timeline = ops.get(f"/schedules/{SCHEDULE}/timeline", params={"interval": "2"}).json()
    assert timeline["finalTimeline"]["rotations"][0]["periods"] == []  # rotations shown, nobody in them


def test_a_denied_or_unknown_schedule_is_403_or_404(jsm: JsmSandbox, ops: httpx.Client) -> None:
    missing = ops.get("/schedules/6f9e8d7c-0000-4000-8000-000000000000/on-calls")
    assert missing.status_code == 404
    assert missing.json() == {
        "errors": [
            {
                "code": "NOT_FOUND",
                "title": "No schedule exists with id [6f9e8d7c-0000-4000-8000-000000000000]",
            }
        ]
    }
    jsm.deny_schedule("Platform")
    assert ops.get(f"/schedules/{SCHEDULE}/timeline").status_code == 403
    jsm.entitled = False  # a service account: the Operations API refuses it outright
    assert ops.get("/schedules").status_code == 403


def test_the_user_api_shows_an_email_only_when_its_owner_lets_it(jsm: JsmSandbox) -> None:
    auth = httpx.BasicAuth(jsm.email, jsm.api_token)
    url = jsm.site_url + "/rest/api/3/user"
    alice = httpx.get(url, params={"accountId": ALICE}, auth=auth).json()
    assert (alice["accountId"], alice["emailAddress"], alice["displayName"]) == (
        ALICE,
        "alice@x.com",
        "Alice",
    )
    carol = httpx.get(url, params={"accountId": CAROL}, auth=auth).json()
    assert carol["accountId"] == CAROL
    assert "emailAddress" not in carol
    unknown = httpx.get(url, params={"accountId": "557058:nobody"}, auth=auth)
    assert unknown.status_code == 404
    assert unknown.json()["errorMessages"] == [
        "Specified user does not exist or you do not have required permissions"
    ]
    assert httpx.get(url, params={"accountId": ALICE}).status_code == 401
    assert httpx.get(url, auth=auth).status_code == 400


def test_alerts_are_asynchronous_and_deduplicated_by_alias(jsm: JsmSandbox, ops: httpx.Client) -> None:
    body = {
        "message": "db down",
        "alias": "slack-C1-1.2",
        "priority": "P2",
        "responders": [{"type": "schedule", "id": SCHEDULE}],
    }
    accepted = ops.post("/alerts", json=body)
    assert accepted.status_code == 202
    assert accepted.json()["result"] == "Request will be processed"
    request_id = accepted.json()["requestId"]
    assert ops.get(f"/alerts/requests/{request_id}").status_code == 404  # not processed yet
    done = ops.get(f"/alerts/requests/{request_id}").json()
    assert (done["action"], done["isSuccess"], done["status"], done["alias"]) == (
        "Create",
        True,
        "Created alert",
        "slack-C1-1.2",
    )
    again = ops.post("/alerts", json=body).json()["requestId"]
    ops.get(f"/alerts/requests/{again}")
    assert ops.get(f"/alerts/requests/{again}").json()["status"] == "Alert deduplicated"
    [alert] = jsm.alerts()
    assert (alert["id"], alert["count"], alert["priority"]) == (done["alertId"], 2, "P2")
    assert ops.get("/alerts/alias", params={"alias": "slack-C1-1.2"}).json()["id"] == alert["id"]
    found = ops.get("/alerts", params={"query": "alias: slack-C1-1.2"}).json()
    assert [a["id"] for a in found["values"]] == [alert["id"]]
    assert ops.get("/alerts", params={"query": "alias: none-has-this"}).json() == {
        "values": [],
        "links": {"next": None},
    }


def test_alert_bodies_are_validated(ops: httpx.Client) -> None:
    cases = [
        {"message": ""},
        {"message": "x" * 131},
        {"message": "ok", "priority": "P9"},
        {"message": "ok", "responders": [{"type": "schedule", "name": "Platform"}]},  # the REST API wants ids
        {"message": "ok", "responders": [{"type": "schedule", "id": "6f9e8d7c-0000-4000-8000-000000000000"}]},
    ]
    for body in cases:
        assert ops.post("/alerts", json=body).status_code == 400, body


def test_acknowledge_close_and_notes_act_by_alert_id(jsm: JsmSandbox, ops: httpx.Client) -> None:
    request_id = ops.post("/alerts", json={"message": "db down", "alias": "a1"}).json()["requestId"]
    ops.get(f"/alerts/requests/{request_id}")
    alert_id = ops.get(f"/alerts/requests/{request_id}").json()["alertId"]
    assert ops.post(f"/alerts/{alert_id}/acknowledge", json={"source": "t"}).status_code == 202
    assert ops.post(f"/alerts/{alert_id}/notes", json={"note": "looking"}).status_code == 202
    assert ops.post(f"/alerts/{alert_id}/notes", json={}).status_code == 400
    assert ops.post(f"/alerts/{alert_id}/close", json={"note": "fixed"}).status_code == 202
    assert ops.post("/alerts/a1/close", json={}).status_code == 404  # by id only, never by alias
    [alert] = jsm.alerts()
    assert (alert["acknowledged"], alert["status"], alert["notes"]) == (True, "closed", ["looking", "fixed"])


def test_the_integration_api_takes_a_genie_key_and_acts_by_alias(jsm: JsmSandbox, ops: httpx.Client) -> None:
    url = jsm.api_url + "/jsm/ops/integration/v2/alerts"
    body = {"message": "db down", "alias": "a2", "responders": [{"type": "schedule", "name": "Platform"}]}
    assert httpx.post(url, json=body, auth=httpx.BasicAuth(jsm.email, jsm.api_token)).status_code == 401
    key = {"Authorization": f"GenieKey {jsm.integration_key}"}
    accepted = httpx.post(url, json=body, headers=key)
    assert accepted.status_code == 202
    request_id = accepted.json()["requestId"]
    ops.get(f"/alerts/requests/{request_id}")
    assert (
        ops.get(f"/alerts/requests/{request_id}").json()["status"] == "Created alert"
    )  # followed as the account
    ack = httpx.post(url + "/a2/acknowledge", params={"identifierType": "alias"}, json={}, headers=key)
    assert ack.status_code == 202
    assert jsm.alerts()[0]["acknowledged"] is True
    nobody = httpx.post(
        url + "/no-such-alias/acknowledge", params={"identifierType": "alias"}, json={}, headers=key
    )
    assert nobody.status_code == 202  # accepted; the request itself fails, touching no alert
    ops.get(f"/alerts/requests/{nobody.json()['requestId']}")
    failed = ops.get(f"/alerts/requests/{nobody.json()['requestId']}").json()
    assert (failed["isSuccess"], failed["status"]) == (False, "Alert does not exist")


def test_faults_429_with_retry_after_and_outages(jsm: JsmSandbox, ops: httpx.Client) -> None:
    jsm.fail(429, path_contains="/on-calls")
    throttled = ops.get(f"/schedules/{SCHEDULE}/on-calls")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "1")
    assert ops.get(f"/schedules/{SCHEDULE}/on-calls").status_code == 200
    jsm.fail(404, path_contains="/rest/api/3/user")
    answer = httpx.get(jsm.site_url + "/rest/api/3/user", params={"accountId": ALICE})
    assert answer.json() == {"errorMessages": ["Injected failure 404"], "errors": {}}
    jsm.down = True
    assert ops.get("/schedules").status_code == 503
    assert httpx.get(jsm.site_url + "/_edge/tenant_info").status_code == 503
    recorded = jsm.requests(host="site")
    assert recorded[-1].status == 503
