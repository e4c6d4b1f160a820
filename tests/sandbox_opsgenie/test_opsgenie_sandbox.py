"""The Opsgenie sandbox over real HTTP: rotation maths, wire format, traps, faults and alerts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sandbox.opsgenie import OpsgenieSandbox, Rotation
from app.sandbox.opsgenie_schedule import Override, on_call_at, rotation_periods

KEY = "test-genie-key"
AMS = ZoneInfo("Europe/Amsterdam")
MONDAY = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
WEEK = timedelta(days=7)
DAY = timedelta(days=1)
PEOPLE = ["alice@x.com", "bob@x.com", "carol@x.com"]


@pytest.fixture
def og() -> Iterator[OpsgenieSandbox]:
    """A started sandbox with one weekly schedule, 'Platform primary' (alice → bob → carol)."""
    with OpsgenieSandbox(api_key=KEY) as sandbox:
        sandbox.add_schedule(
            "Platform primary",
            schedule_id="0b6a3b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            rotations=[Rotation("weekly", list(PEOPLE), MONDAY, WEEK)],
        )
        yield sandbox


@pytest.fixture
def client(og: OpsgenieSandbox) -> Iterator[httpx.Client]:
    """A plain httpx client with the right key (no provider code involved)."""
    with httpx.Client(base_url=og.url, headers={"Authorization": f"GenieKey {KEY}"}, timeout=5) as http:
        yield http


def on_calls(client: httpx.Client, schedule: str, **params: Any) -> httpx.Response:
    """GET on-calls for ``schedule`` with query ``params``."""
    return client.get(f"/v2/schedules/{schedule}/on-calls", params=params)


# -- rotation maths --------------------------------------------------------------------------------


def test_weekly_rotation_turns_and_wraps(og: OpsgenieSandbox) -> None:
    assert og.on_call_at("Platform primary", MONDAY) == ["alice@x.com"]
    assert og.on_call_at("Platform primary", MONDAY + WEEK - timedelta(seconds=1)) == ["alice@x.com"]
    assert og.on_call_at("Platform primary", MONDAY + WEEK) == ["bob@x.com"]
    assert og.on_call_at("Platform primary", MONDAY + 2 * WEEK) == ["carol@x.com"]
    assert og.on_call_at("Platform primary", MONDAY + 3 * WEEK) == ["alice@x.com"]


def test_nobody_before_the_rotation_starts(og: OpsgenieSandbox) -> None:
    assert og.on_call_at("Platform primary", MONDAY - timedelta(seconds=1)) == []


def test_daily_rotation(og: OpsgenieSandbox) -> None:
    og.set_rotations("Platform primary", [Rotation("daily", ["a@x.com", "b@x.com"], MONDAY, DAY)])
    assert [og.on_call_at("Platform primary", MONDAY + k * DAY)[0] for k in range(4)] == [
        "a@x.com",
        "b@x.com",
        "a@x.com",
        "b@x.com",
    ]


def test_two_rotations_mean_primary_and_secondary(og: OpsgenieSandbox) -> None:
    og.set_rotations(
        "Platform primary",
        [
            Rotation("secondary", ["s1@x.com", "s2@x.com"], MONDAY, WEEK, order=2.0),
            Rotation("primary", ["p1@x.com", "p2@x.com"], MONDAY, WEEK, order=1.0),
        ],
    )
    assert og.on_call_at("Platform primary", MONDAY + WEEK) == ["p2@x.com", "s2@x.com"]


def test_empty_participants_give_nobody(og: OpsgenieSandbox) -> None:
    og.set_rotations("Platform primary", [Rotation("empty", [], MONDAY, WEEK)])
    assert og.on_call_at("Platform primary", MONDAY + DAY) == []


def test_override_replaces_only_its_window(og: OpsgenieSandbox) -> None:
    og.add_override("Platform primary", "dave@x.com", MONDAY + DAY, MONDAY + 2 * DAY)
    assert og.on_call_at("Platform primary", MONDAY + DAY - timedelta(seconds=1)) == ["alice@x.com"]
    assert og.on_call_at("Platform primary", MONDAY + DAY) == ["dave@x.com"]
    assert og.on_call_at("Platform primary", MONDAY + 2 * DAY) == ["alice@x.com"]


def test_override_of_one_rotation_leaves_the_other(og: OpsgenieSandbox) -> None:
    og.set_rotations(
        "Platform primary",
        [Rotation("primary", ["p@x.com"], MONDAY, WEEK), Rotation("secondary", ["s@x.com"], MONDAY, WEEK)],
    )
    og.add_override("Platform primary", "dave@x.com", MONDAY, MONDAY + DAY, rotation="secondary")
    assert og.on_call_at("Platform primary", MONDAY) == ["p@x.com", "dave@x.com"]
    with pytest.raises(ValueError, match="no rotation"):
        og.add_override("Platform primary", "x@x.com", MONDAY, MONDAY + DAY, rotation="tertiary")


def test_turns_follow_the_wall_clock_across_dst(og: OpsgenieSandbox) -> None:
    # 09:00 in Amsterdam is 08:00Z in winter and 07:00Z after the switch on 2024-03-31.
    start = datetime(2024, 3, 29, 9, tzinfo=AMS)
    og.set_rotations("Platform primary", [Rotation("daily", ["a@x.com", "b@x.com"], start, DAY)])
    assert og.on_call_at("Platform primary", datetime(2024, 3, 31, 6, 59, tzinfo=UTC)) == ["b@x.com"]
    assert og.on_call_at("Platform primary", datetime(2024, 3, 31, 7, 0, tzinfo=UTC)) == ["a@x.com"]


@settings(max_examples=60, deadline=None)
@given(
    people=st.lists(st.sampled_from(PEOPLE), min_size=0, max_size=3),
    length_hours=st.integers(min_value=1, max_value=24 * 14),
    offset_hours=st.integers(min_value=-500, max_value=3000),
    override_at=st.integers(min_value=0, max_value=600),
)
def test_timeline_tiles_and_agrees_with_on_call_at(
    people: list[str], length_hours: int, offset_hours: int, override_at: int
) -> None:
    rotation = Rotation("r", people, MONDAY, timedelta(hours=length_hours))
    overrides = [
        Override(
            "zed@x.com", MONDAY + timedelta(hours=override_at), MONDAY + timedelta(hours=override_at + 5)
        )
    ]
    start = MONDAY + timedelta(hours=offset_hours)
    end = start + timedelta(days=10)
    periods = rotation_periods(rotation, overrides, AMS, start, end)
    for before, after in itertools.pairwise(periods):
        assert before.end <= after.start
    for period in periods:
        assert start <= period.start < period.end <= end
        assert on_call_at([rotation], overrides, AMS, period.start) == [period.user]
        assert on_call_at([rotation], overrides, AMS, period.end - timedelta(seconds=1)) == [period.user]


# -- on-calls wire format --------------------------------------------------------------------------


def test_flat_on_calls_are_emails(og: OpsgenieSandbox, client: httpx.Client) -> None:
    response = on_calls(
        client, "0b6a3b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", flat="true", date="2024-01-09T08:00:00Z"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["onCallRecipients"] == ["bob@x.com"]
    assert body["data"]["_parent"] == {
        "id": "0b6a3b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        "name": "Platform primary",
        "enabled": True,
    }
    assert set(body) == {"data", "took", "requestId"}


def test_not_flat_is_the_default_and_gives_a_tree(client: httpx.Client) -> None:
    data = on_calls(client, "Platform primary", scheduleIdentifierType="name", date="2024-01-01T09:00:00Z")
    participants = data.json()["data"]["onCallParticipants"]
    assert [(p["name"], p["type"]) for p in participants] == [("alice@x.com", "user")]
    assert "onCallRecipients" not in data.json()["data"]


def test_the_identifier_is_an_id_unless_told_otherwise(client: httpx.Client) -> None:
    response = on_calls(client, "Platform primary", flat="true")
    assert response.status_code == 404
    assert response.json()["message"] == "No schedule exists with id [Platform primary]"
    named = on_calls(client, "Nope", scheduleIdentifierType="name")
    assert named.json()["message"] == "No schedule exists with name [Nope]"


def test_dates_with_offsets_are_accepted(client: httpx.Client) -> None:
    # 08:30+01:00 is 07:30Z, before the rotation starts; 09:30+01:00 is 08:30Z, alice's first hour.
    early = on_calls(
        client,
        "Platform primary",
        scheduleIdentifierType="name",
        flat="true",
        date="2024-01-01T08:30:00+01:00",
    )
    assert early.json()["data"]["onCallRecipients"] == []
    raw = client.get(
        "/v2/schedules/Platform%20primary/on-calls?scheduleIdentifierType=name&flat=true&date=2024-01-01T09:30:00%2B0100"
    )
    assert raw.json()["data"]["onCallRecipients"] == ["alice@x.com"]


def test_an_unescaped_plus_is_refused(client: httpx.Client) -> None:
    response = client.get(
        "/v2/schedules/Platform%20primary/on-calls?scheduleIdentifierType=name&date=2024-01-01T09:30:00+01:00"
    )
    assert response.status_code == 422
    assert "yyyy-MM-dd" in response.json()["message"]


def test_the_default_date_is_the_clock(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.clock = lambda: MONDAY + WEEK + DAY
    assert on_calls(client, "Platform primary", scheduleIdentifierType="name", flat="true").json()["data"][
        "onCallRecipients"
    ] == ["bob@x.com"]


def test_time_machine_moves_the_default_clock(client: httpx.Client) -> None:
    with time_machine.travel(MONDAY + 2 * WEEK + DAY, tick=False):
        response = on_calls(client, "Platform primary", scheduleIdentifierType="name", flat="true")
    assert response.json()["data"]["onCallRecipients"] == ["carol@x.com"]


def test_next_on_calls_use_the_inverted_names(client: httpx.Client) -> None:
    path = "/v2/schedules/Platform%20primary/next-on-calls"
    query = {"scheduleIdentifierType": "name", "date": "2024-01-02T00:00:00Z"}
    flat = client.get(path, params={**query, "flat": "true"}).json()["data"]
    assert flat["nextOnCallParticipants"] == ["bob@x.com"]
    assert flat["exactNextOnCallParticipants"] == ["bob@x.com"]
    tree = client.get(path, params=query).json()["data"]
    assert [p["name"] for p in tree["nextOnCallRecipients"]] == ["bob@x.com"]
    assert [p["name"] for p in tree["exactNextOnCallRecipients"]] == ["bob@x.com"]
    assert "onCallRecipients" not in flat


# -- timeline --------------------------------------------------------------------------------------


def timeline(client: httpx.Client, **params: Any) -> httpx.Response:
    """GET the timeline of 'Platform primary' by name."""
    return client.get("/v2/schedules/Platform primary/timeline", params={"identifierType": "name", **params})


def test_timeline_clips_periods_to_the_window(client: httpx.Client) -> None:
    data = timeline(client, date="2024-01-03T00:00:00Z", interval="7", intervalUnit="days").json()["data"]
    assert (data["startDate"], data["endDate"]) == ("2024-01-03T00:00:00Z", "2024-01-10T00:00:00Z")
    periods = data["finalTimeline"]["rotations"][0]["periods"]
    assert [(p["startDate"], p["endDate"], p["recipient"]["name"], p["type"]) for p in periods] == [
        ("2024-01-03T00:00:00Z", "2024-01-08T08:00:00Z", "alice@x.com", "default"),
        ("2024-01-08T08:00:00Z", "2024-01-10T00:00:00Z", "bob@x.com", "default"),
    ]


def test_timeline_defaults_to_one_week(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.clock = lambda: MONDAY
    data = timeline(client).json()["data"]
    assert (data["startDate"], data["endDate"]) == ("2024-01-01T08:00:00Z", "2024-01-08T08:00:00Z")


def test_override_splits_a_default_period(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.add_override("Platform primary", "dave@x.com", MONDAY + DAY, MONDAY + 2 * DAY)
    data = timeline(client, date="2024-01-01T08:00:00Z", expand="base").json()["data"]
    periods = data["finalTimeline"]["rotations"][0]["periods"]
    assert [(p["recipient"]["name"], p["type"], p["startDate"]) for p in periods] == [
        ("alice@x.com", "default", "2024-01-01T08:00:00Z"),
        ("dave@x.com", "override", "2024-01-02T08:00:00Z"),
        ("alice@x.com", "default", "2024-01-03T08:00:00Z"),
    ]
    assert len(data["baseTimeline"]["rotations"][0]["periods"]) == 1


def test_timeline_ignores_schedule_identifier_type(client: httpx.Client) -> None:
    # The real trap: the on-calls parameter name means nothing to the timeline, so this is an id lookup.
    response = client.get(
        "/v2/schedules/Platform primary/timeline", params={"scheduleIdentifierType": "name"}
    )
    assert response.status_code == 404
    assert response.json()["message"] == "No schedule exists with id [Platform primary]"


def test_a_rotation_without_periods_has_no_periods_key(client: httpx.Client) -> None:
    data = timeline(client, date="2023-06-01T00:00:00Z").json()["data"]
    assert "periods" not in data["finalTimeline"]["rotations"][0]


def test_bad_interval_is_422(client: httpx.Client) -> None:
    assert timeline(client, intervalUnit="years").status_code == 422
    assert timeline(client, interval="0").status_code == 422


# -- schedules, account, auth ----------------------------------------------------------------------


def test_account_and_schedule_list(og: OpsgenieSandbox, client: httpx.Client) -> None:
    account = client.get("/v2/account").json()["data"]
    assert account["name"] == "sandbox"
    assert account["userCount"] == 3
    listed = client.get("/v2/schedules", params={"expand": "rotation"}).json()["data"]
    assert listed[0]["name"] == "Platform primary"
    assert listed[0]["timezone"] == "Europe/Amsterdam"
    assert set(listed[0]["ownerTeam"]) == {"id", "name"}
    rotation = listed[0]["rotations"][0]
    assert (rotation["type"], rotation["length"]) == ("weekly", 1)
    assert [p["username"] for p in rotation["participants"]] == PEOPLE
    assert "rotations" not in client.get("/v2/schedules").json()["data"][0]


@pytest.mark.parametrize("header", [None, "GenieKey wrong", f"Bearer {KEY}", KEY])
def test_wrong_or_missing_key_is_401(og: OpsgenieSandbox, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = httpx.get(f"{og.url}/v2/account", headers=headers)
    assert response.status_code == 401
    assert response.json()["message"] == "Could not authenticate"
    assert set(response.json()) == {"message", "took", "requestId"}


def test_denied_schedule_is_403_and_unlisted(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.deny_schedule("Platform primary")
    response = on_calls(client, "Platform primary", scheduleIdentifierType="name")
    assert response.status_code == 403
    assert "not authorized" in response.json()["message"]
    assert client.get("/v2/schedules").json()["data"] == []


def test_unknown_path_is_404_json(client: httpx.Client) -> None:
    response = client.get("/v2/nothing/here")
    assert response.status_code == 404
    assert "message" in response.json()


def test_requests_are_recorded(og: OpsgenieSandbox, client: httpx.Client) -> None:
    on_calls(client, "Platform primary", scheduleIdentifierType="name", flat="true")
    client.post("/v2/alerts", json={"message": "hi"})
    recorded = og.requests("/on-calls")
    assert [(r.method, r.path, r.status) for r in recorded] == [
        ("GET", "/v2/schedules/Platform primary/on-calls", 200)
    ]
    assert recorded[0].query == {"scheduleIdentifierType": "name", "flat": "true"}
    assert og.requests("/v2/alerts")[0].body == {"message": "hi"}
    og.clear_requests()
    assert og.requests() == []


# -- faults ----------------------------------------------------------------------------------------


def test_injected_429_carries_rate_limit_headers(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.fail(429, times=2, path_contains="/on-calls")
    assert client.get("/v2/account").status_code == 200  # not matching: untouched
    first = on_calls(client, "Platform primary", scheduleIdentifierType="name")
    assert first.status_code == 429
    assert first.headers["X-RateLimit-State"] == "THROTTLED"
    assert first.headers["X-RateLimit-Reason"] == "ScheduleOnCalls"
    assert first.headers["X-RateLimit-Period-In-Sec"] == "1"
    assert on_calls(client, "Platform primary", scheduleIdentifierType="name").status_code == 429
    assert on_calls(client, "Platform primary", scheduleIdentifierType="name").status_code == 200


def test_injected_5xx_uses_the_error_json(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.fail(503)
    response = client.get("/v2/account")
    assert response.status_code == 503
    assert set(response.json()) == {"message", "took", "requestId"}
    assert client.get("/v2/account").status_code == 200


def test_injected_body_replaces_the_answer(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.fail(200, body="<html>proxy</html>")
    assert client.get("/v2/account").text == "<html>proxy</html>"


def test_down_answers_503_until_back(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.down = True
    assert [client.get("/v2/account").status_code for _ in range(3)] == [503, 503, 503]
    og.down = False
    assert client.get("/v2/account").status_code == 200


def test_hang_makes_clients_time_out(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.hang(2.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/v2/account", timeout=0.2)
    assert client.get("/v2/account", timeout=2).status_code == 200


def test_latency_is_added(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.latency = 0.05
    before = datetime.now(UTC)
    client.get("/v2/account")
    assert datetime.now(UTC) - before >= timedelta(seconds=0.05)


# -- alerts ----------------------------------------------------------------------------------------


def test_create_alert_then_poll_until_processed(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.alert_processing_polls = 2
    created = client.post("/v2/alerts", json={"message": "DB down", "alias": "evt-1", "priority": "P2"})
    assert created.status_code == 202
    assert created.json()["result"] == "Request will be processed"
    request_id = created.json()["requestId"]
    for _ in range(2):
        pending = client.get(f"/v2/alerts/requests/{request_id}")
        assert pending.status_code == 404
        assert pending.headers["X-Opsgenie-Errortype"] == "RequestNotProcessed"
    done = client.get(f"/v2/alerts/requests/{request_id}").json()["data"]
    assert done["success"] is True
    assert done["isSuccess"] is True
    assert done["action"] == "Create"
    assert done["status"] == "Created alert"
    [alert] = og.alerts()
    assert (done["alertId"], done["alias"]) == (alert["id"], "evt-1")
    assert (alert["message"], alert["status"], alert["priority"], alert["tinyId"]) == (
        "DB down",
        "open",
        "P2",
        "1",
    )


def test_unknown_request_id_is_plain_404(client: httpx.Client) -> None:
    response = client.get("/v2/alerts/requests/nope")
    assert response.status_code == 404
    assert "X-Opsgenie-Errortype" not in response.headers


def test_same_alias_is_not_duplicated(og: OpsgenieSandbox, client: httpx.Client) -> None:
    og.alert_processing_polls = 0
    first = client.post("/v2/alerts", json={"message": "one", "alias": "evt-1"}).json()["requestId"]
    second = client.post("/v2/alerts", json={"message": "two", "alias": "evt-1"}).json()["requestId"]
    client.post("/v2/alerts", json={"message": "other", "alias": "evt-2"})
    ids = [client.get(f"/v2/alerts/requests/{r}").json()["data"]["alertId"] for r in (first, second)]
    assert ids[0] == ids[1]
    assert [a["alias"] for a in og.alerts()] == ["evt-1", "evt-2"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "x" * 131}, "message"),
        ({"alias": "no message"}, "message"),
        ({"message": "ok", "priority": "P9"}, "priority"),
        ({"message": "ok", "description": "d" * 15001}, "description"),
    ],
)
def test_invalid_alerts_are_422(
    og: OpsgenieSandbox, client: httpx.Client, body: dict[str, Any], field: str
) -> None:
    response = client.post("/v2/alerts", json=body)
    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert og.alerts() == []


def test_130_characters_are_fine_and_bad_json_is_400(client: httpx.Client) -> None:
    assert client.post("/v2/alerts", json={"message": "x" * 130}).status_code == 202
    assert client.post("/v2/alerts", content=b"{nope").status_code == 400


def test_list_alerts_with_query_and_paging(client: httpx.Client) -> None:
    for index in range(3):
        client.post("/v2/alerts", json={"message": f"m{index}", "alias": f"a{index}", "priority": "P1"})
    listed = client.get("/v2/alerts", params={"query": "status: open AND alias: a1"}).json()["data"]
    assert [a["message"] for a in listed] == ["m1"]
    assert len(client.get("/v2/alerts", params={"limit": 2}).json()["data"]) == 2
    assert len(client.get("/v2/alerts", params={"limit": 2, "offset": 2}).json()["data"]) == 1
    assert client.get("/v2/alerts", params={"limit": 101}).status_code == 422
