"""The PagerDuty sandbox's REST host over real HTTP: schedules, on-calls, lists, auth, limits, faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.sandbox.pagerduty import ACCEPT, PagerDutySandbox, Rotation

TOKEN = "test-pd-token"
MONDAY = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
WEEK, DAY, HOUR = timedelta(days=7), timedelta(days=1), timedelta(hours=1)
PEOPLE = ["alice@x.com", "bob@x.com", "carol@x.com"]
SCHEDULE = "PSCHED01"


class Clock:
    """A monotonic clock tests move by hand (the sandbox's rate-limit window reads it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pd(clock: Clock) -> Iterator[PagerDutySandbox]:
    """'Platform' (PSCHED01): weekly alice → bob → carol from 2024-01-01 09:00 Amsterdam, one policy."""
    with PagerDutySandbox(api_token=TOKEN, clock=lambda: MONDAY + DAY, monotonic=clock) as sandbox:
        sandbox.add_schedule(
            "Platform", schedule_id=SCHEDULE, layers=[Rotation("weekly", PEOPLE, MONDAY, WEEK)]
        )
        yield sandbox


@pytest.fixture
def client(pd: PagerDutySandbox) -> Iterator[httpx.Client]:
    """A plain httpx client with PagerDuty's headers (no provider code involved)."""
    headers = {"Authorization": f"Token token={TOKEN}", "Accept": ACCEPT}
    with httpx.Client(base_url=pd.url, headers=headers, timeout=5) as http:
        yield http


def final(client: httpx.Client, schedule: str = SCHEDULE, **params: Any) -> list[tuple[str, str, str]]:
    """(start, end, user summary) of a v2 schedule's final layer."""
    body = client.get(f"/schedules/{schedule}", params=params).json()["schedule"]
    return [
        (e["start"], e["end"], e["user"]["summary"])
        for e in body["final_schedule"]["rendered_schedule_entries"]
    ]


# -- final schedules -------------------------------------------------------------------------------


def test_v2_final_schedule_renders_in_the_schedules_zone_and_clips(client: httpx.Client) -> None:
    entries = final(client, since="2024-01-05T00:00:00Z", until="2024-01-16T00:00:00Z")
    assert entries == [
        ("2024-01-05T01:00:00+01:00", "2024-01-08T09:00:00+01:00", "Alice"),
        ("2024-01-08T09:00:00+01:00", "2024-01-15T09:00:00+01:00", "Bob"),
        ("2024-01-15T09:00:00+01:00", "2024-01-16T01:00:00+01:00", "Carol"),
    ]
    utc = final(client, since="2024-01-05T00:00:00Z", until="2024-01-06T00:00:00Z", time_zone="UTC")
    assert utc == [("2024-01-05T00:00:00Z", "2024-01-06T00:00:00Z", "Alice")]
    wide = final(client, since="2024-01-05T00:00:00Z", until="2024-01-06T00:00:00Z", overflow="true")
    assert wide == [("2024-01-01T09:00:00+01:00", "2024-01-08T09:00:00+01:00", "Alice")]


def test_v2_higher_layer_and_overrides_win_one_person_at_a_time(
    pd: PagerDutySandbox, client: httpx.Client
) -> None:
    # A second, higher layer that starts mid-week: from then on it wins over the weekly one.
    nights = Rotation("cover", ["dave@x.com"], MONDAY + 2 * DAY - HOUR / 2, DAY, order=2)
    pd.set_layers("Platform", [Rotation("weekly", PEOPLE, MONDAY, WEEK), nights])
    pd.add_override("Platform", "erin@x.com", MONDAY + 2 * DAY, MONDAY + 2 * DAY + 2 * HOUR)
    since, until = MONDAY + 2 * DAY - HOUR, MONDAY + 2 * DAY + 3 * HOUR
    entries = final(client, since=since.isoformat(), until=until.isoformat(), time_zone="UTC")
    assert entries == [
        ("2024-01-03T07:00:00Z", "2024-01-03T07:30:00Z", "Alice"),
        ("2024-01-03T07:30:00Z", "2024-01-03T08:00:00Z", "Dave"),
        ("2024-01-03T08:00:00Z", "2024-01-03T10:00:00Z", "Erin"),
        ("2024-01-03T10:00:00Z", "2024-01-03T11:00:00Z", "Dave"),
    ]
    assert pd.on_call_at("Platform", MONDAY + 2 * DAY + HOUR) == ["erin@x.com"]


def test_turns_follow_the_wall_clock_across_dst(client: httpx.Client) -> None:
    # Amsterdam leaves summer time on 2024-10-27: the 09:00 handoff moves from 07:00Z to 08:00Z.
    since, until = "2024-10-21T00:00:00Z", "2024-10-29T00:00:00Z"
    starts = [start for start, _, _ in final(client, since=since, until=until, time_zone="UTC")]
    assert starts[1:] == ["2024-10-21T07:00:00Z", "2024-10-28T08:00:00Z"]


def test_v3_final_schedule_needs_include_and_shows_overlaps_and_gaps(
    pd: PagerDutySandbox, client: httpx.Client
) -> None:
    day = Rotation("day", ["alice@x.com"], MONDAY, 8 * HOUR)  # 8 h on, then the next turn of the same person
    pd.add_schedule(
        "Shifts", schedule_id="PSHIFT3", version=3, layers=[day, Rotation("pair", ["bob@x.com"], MONDAY, DAY)]
    )
    body = client.get(
        "/v3/schedules/PSHIFT3", params={"since": "2024-01-01T08:00:00Z", "until": "2024-01-01T12:00:00Z"}
    )
    assert body.status_code == 200
    assert body.json()["schedule"]["type"] == "schedule_v3"
    assert "final_schedule" not in body.json()["schedule"]
    params = {
        "since": "2024-01-01T06:00:00Z",
        "until": "2024-01-01T10:00:00Z",
        "include[]": "final_schedule",
        "time_zone": "UTC",
    }
    shifts = client.get("/v3/schedules/PSHIFT3", params=params).json()["schedule"]["final_schedule"]
    rows = [
        (s["start_time"], s["end_time"], s["member"]["type"], s["member"].get("user_id"))
        for s in shifts["computed_shift_assignments"]
    ]
    alice, bob = pd.user_id("alice@x.com"), pd.user_id("bob@x.com")
    assert rows == [
        ("2024-01-01T06:00:00Z", "2024-01-01T08:00:00Z", "empty_member", None),
        ("2024-01-01T08:00:00Z", "2024-01-01T10:00:00Z", "user_member", alice),
        ("2024-01-01T08:00:00Z", "2024-01-01T10:00:00Z", "user_member", bob),
    ]
    assert shifts["rendered_coverage_percentage"] == 50.0


def test_each_shape_answers_400_on_the_other_endpoint(pd: PagerDutySandbox, client: httpx.Client) -> None:
    pd.add_schedule("Shifts", schedule_id="PSHIFT3", version=3)
    v3_of_v2 = client.get(f"/v3/schedules/{SCHEDULE}")
    assert v3_of_v2.status_code == 400
    assert v3_of_v2.json()["error"]["code"] == 2001
    assert client.get("/schedules/PSHIFT3").status_code == 400
    pd.upgrade("Platform")
    assert client.get(f"/v3/schedules/{SCHEDULE}").status_code == 200


def test_unknown_and_denied_schedules(pd: PagerDutySandbox, client: httpx.Client) -> None:
    missing = client.get("/schedules/PNOPE00")
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": {"message": "Not Found", "code": 2100, "errors": []}},
    )
    pd.deny_schedule("Platform")
    assert client.get(f"/schedules/{SCHEDULE}").json()["error"]["code"] == 2010
    assert client.get(f"/schedules/{SCHEDULE}").status_code == 403
    assert client.get("/oncalls", params={"schedule_ids[]": SCHEDULE}).status_code == 403
    assert client.get("/schedules").json()["schedules"] == []


# -- on-calls --------------------------------------------------------------------------------------


def test_oncalls_carry_user_references_or_full_users(pd: PagerDutySandbox, client: httpx.Client) -> None:
    plain = client.get("/oncalls", params={"schedule_ids[]": SCHEDULE}).json()
    [oncall] = plain["oncalls"]
    assert set(oncall) == {"escalation_policy", "escalation_level", "schedule", "user", "start", "end"}
    assert (oncall["user"]["type"], oncall["user"]["summary"]) == ("user_reference", "Alice")
    assert "email" not in oncall["user"]
    assert (oncall["start"], oncall["end"]) == ("2024-01-01T03:00:00-05:00", "2024-01-08T03:00:00-05:00")
    assert (plain["limit"], plain["offset"], plain["more"], plain["total"]) == (25, 0, False, None)
    full = client.get("/oncalls", params={"schedule_ids[]": SCHEDULE, "include[]": "users"}).json()
    assert full["oncalls"][0]["user"]["email"] == "alice@x.com"


def test_oncalls_at_an_instant_and_over_a_range(client: httpx.Client) -> None:
    at = {"schedule_ids[]": SCHEDULE, "since": "2024-01-08T08:00:00Z", "until": "2024-01-08T08:00:00Z"}
    assert [o["user"]["summary"] for o in client.get("/oncalls", params=at).json()["oncalls"]] == ["Bob"]
    week = {"schedule_ids[]": SCHEDULE, "since": "2024-01-05T00:00:00Z", "until": "2024-01-20T00:00:00Z"}
    assert [o["user"]["summary"] for o in client.get("/oncalls", params=week).json()["oncalls"]] == [
        "Alice",
        "Bob",
        "Carol",
    ]
    earliest = client.get(
        "/oncalls", params={**week, "until": "2024-02-20T00:00:00Z", "earliest": "true"}
    ).json()
    assert [o["user"]["summary"] for o in earliest["oncalls"]] == ["Alice", "Bob", "Carol"]


def test_one_oncall_per_escalation_policy(pd: PagerDutySandbox, client: httpx.Client) -> None:
    pd.add_schedule(
        "Shared", schedule_id="PSHARED", layers=[Rotation("r", ["dave@x.com"], MONDAY, WEEK)], policies=3
    )
    oncalls = client.get("/oncalls", params={"schedule_ids[]": "PSHARED"}).json()["oncalls"]
    assert len({o["escalation_policy"]["id"] for o in oncalls}) == 3
    both = client.get("/oncalls", params={"schedule_ids[]": ["PSHARED", SCHEDULE]}).json()["oncalls"]
    assert len(both) == 4
    assert client.get("/oncalls").json()["oncalls"] == both  # no filter: every schedule


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"since": "2024-01-01T00:00:00Z", "until": "2024-04-01T00:00:01Z"}, "90 days"),
        ({"since": "2024-01-02T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "before"),
        ({"since": "yesterday"}, "ISO 8601"),
        ({"time_zone": "Mars/Olympus"}, "time zone"),
        ({"limit": 100, "offset": 9901}, "10000"),
    ],
)
def test_bad_oncall_queries_are_400(client: httpx.Client, params: dict[str, Any], why: str) -> None:
    response = client.get("/oncalls", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid Input Provided"
    assert why in response.json()["error"]["errors"][0]


def test_pagination_caps_the_limit_at_100(pd: PagerDutySandbox, client: httpx.Client) -> None:
    pd.add_schedule(
        "Busy", schedule_id="PBUSY00", layers=[Rotation("r", ["dave@x.com"], MONDAY, WEEK)], policies=130
    )
    first = client.get("/oncalls", params={"schedule_ids[]": "PBUSY00", "limit": 500, "total": "true"}).json()
    assert (len(first["oncalls"]), first["limit"], first["more"], first["total"]) == (100, 100, True, 130)
    rest = client.get("/oncalls", params={"schedule_ids[]": "PBUSY00", "limit": 100, "offset": 100}).json()
    assert (len(rest["oncalls"]), rest["more"]) == (30, False)


# -- lists and users -------------------------------------------------------------------------------


def test_schedule_lists_are_split_by_shape(pd: PagerDutySandbox, client: httpx.Client) -> None:
    pd.add_schedule("Platform shifts", schedule_id="PSHIFT3", version=3)
    v2 = client.get("/schedules", params={"query": "PLAT"}).json()
    assert [(s["id"], s["name"], s["type"]) for s in v2["schedules"]] == [(SCHEDULE, "Platform", "schedule")]
    v3 = client.get("/v3/schedules").json()
    assert [(s["id"], s["summary"], s["type"]) for s in v3["schedules"]] == [
        ("PSHIFT3", "Platform shifts", "schedule_v3_reference")
    ]
    assert (v3["limit"], "total" in v3) == (100, False)


def test_users_have_emails(pd: PagerDutySandbox, client: httpx.Client) -> None:
    user_id = pd.user_id("bob@x.com")
    user = client.get(f"/users/{user_id}").json()["user"]
    assert (user["id"], user["email"], user["type"]) == (user_id, "bob@x.com", "user")
    assert client.get("/users/PNOBODY").status_code == 404


# -- auth, rate limit, faults ----------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Token token=wrong", f"Bearer {TOKEN}", TOKEN])
def test_wrong_or_missing_token_is_401_2006(pd: PagerDutySandbox, header: str | None) -> None:
    headers = {"Accept": ACCEPT, **({"Authorization": header} if header else {})}
    response = httpx.get(f"{pd.url}/abilities", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"message": "Invalid Credentials", "code": 2006, "errors": []}}


def test_the_versioned_accept_header_is_required(pd: PagerDutySandbox) -> None:
    response = httpx.get(
        f"{pd.url}/abilities", headers={"Authorization": f"Token token={TOKEN}", "Accept": "text/html"}
    )
    assert response.status_code == 406
    assert ACCEPT in response.json()["error"]["message"]


def test_rate_limit_headers_and_429(pd: PagerDutySandbox, client: httpx.Client, clock: Clock) -> None:
    pd.rate_limit = 3
    answers = [client.get("/abilities") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["ratelimit-limit"] == "3"
    assert answers[3].json()["error"] == {"message": "Rate Limit Exceeded", "code": 2020, "errors": []}
    clock.now += 20
    assert client.get("/abilities").headers["ratelimit-reset"] == "40"  # 429
    clock.now += 40
    assert client.get("/abilities").status_code == 200


def test_faults_use_pagerdutys_error_body(pd: PagerDutySandbox, client: httpx.Client) -> None:
    pd.fail(502, path_contains="/oncalls")
    assert client.get("/abilities").status_code == 200
    failed = client.get("/oncalls")
    assert (failed.status_code, failed.json()["error"]["message"]) == (502, "Bad Gateway")
    pd.fail(429)
    assert client.get("/abilities").headers["ratelimit-remaining"] == "0"
    pd.fail(200, body="<html>proxy</html>")
    assert client.get("/abilities").text == "<html>proxy</html>"
    pd.down = True
    assert client.get("/abilities").status_code == 503
    pd.down = False
    pd.hang(2.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/abilities", timeout=0.2)


def test_requests_are_recorded_with_every_value(pd: PagerDutySandbox, client: httpx.Client) -> None:
    client.get("/oncalls", params={"schedule_ids[]": [SCHEDULE, "PSECOND"], "include[]": "users"})
    [request] = pd.requests("/oncalls")
    assert (request.host, request.method, request.status) == ("rest", "GET", 200)
    assert request.query["schedule_ids[]"] == [SCHEDULE, "PSECOND"]
    assert request.headers["accept"] == ACCEPT
    pd.clear_requests()
    assert pd.requests() == []
