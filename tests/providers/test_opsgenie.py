"""OpsgenieProvider against the Opsgenie sandbox over real HTTP: happy paths, retries and error mapping."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.domain import AlertRequest, OnCall, Shift
from app.providers import (
    AccessDenied,
    BadCredentials,
    BadResponse,
    Provider,
    RateLimited,
    ScheduleNotFound,
    Unreachable,
)
from app.providers.opsgenie import OpsgenieProvider
from app.providers.tuning import Tuning
from app.sandbox.opsgenie import OpsgenieSandbox, Rotation

KEY = "og-secret-key-1234"
SCHEDULE_ID = "7d2b9c1e-5f4a-4b3c-9d8e-1a2b3c4d5e6f"
NAME = "Platform primary"
MONDAY = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
WEEK = timedelta(days=7)
DAY = timedelta(days=1)


class Sleeps(list[float]):
    """Records the provider's back-off instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def og() -> Iterator[OpsgenieSandbox]:
    """A sandbox with 'Platform primary': weekly alice → bob → carol from 2024-01-01 09:00 Amsterdam."""
    with OpsgenieSandbox(api_key=KEY) as sandbox:
        rotation = Rotation("weekly", ["alice@x.com", "bob@x.com", "carol@x.com"], MONDAY, WEEK)
        sandbox.add_schedule(NAME, schedule_id=SCHEDULE_ID, rotations=[rotation])
        yield sandbox


@pytest.fixture
def sleeps() -> Sleeps:
    """The recorded back-off delays."""
    return Sleeps()


@pytest.fixture
def provider(og: OpsgenieSandbox, sleeps: Sleeps) -> Iterator[OpsgenieProvider]:
    """A provider pointed at the sandbox, sleeping into ``sleeps``."""
    with OpsgenieProvider(KEY, og.url, tuning=Tuning(timeout=2.0, sleep=sleeps)) as client:
        yield client


def test_it_is_a_provider(provider: OpsgenieProvider) -> None:
    typed: Provider = provider
    assert typed.name == "Opsgenie"


# -- on_call ---------------------------------------------------------------------------------------


def test_on_call_by_name(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    at = MONDAY + WEEK + DAY
    assert provider.on_call(NAME, at) == OnCall(schedule=NAME, at=at, people=("bob@x.com",))
    [request] = og.requests("/on-calls")
    assert request.path == f"/v2/schedules/{NAME}/on-calls"
    assert request.query == {"scheduleIdentifierType": "name", "flat": "true", "date": "2024-01-09T08:00:00Z"}


def test_on_call_by_id(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    assert provider.on_call(SCHEDULE_ID, MONDAY).people == ("alice@x.com",)
    assert og.requests("/on-calls")[0].query["scheduleIdentifierType"] == "id"


def test_on_call_keeps_order_and_drops_duplicates(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    og.fail(200, body='{"data": {"onCallRecipients": ["b@x.com", "a@x.com", "b@x.com"]}, "took": 0.1}')
    assert provider.on_call(NAME, MONDAY).people == ("b@x.com", "a@x.com")


def test_on_call_with_an_offset_date(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    # 09:30+01:00 is 08:30Z: alice's first half hour; sent as UTC so no '+' can be mangled on the way.
    at = datetime(2024, 1, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    result = provider.on_call(NAME, at)
    assert result.people == ("alice@x.com",)
    assert result.at == datetime(2024, 1, 1, 8, 30, tzinfo=UTC)
    assert result.at.tzinfo is UTC
    assert og.requests("/on-calls")[0].query["date"] == "2024-01-01T08:30:00Z"


def test_schedule_names_are_escaped_in_the_path(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    og.add_schedule("Ops / EU?", rotations=[Rotation("r", ["eu@x.com"], MONDAY, WEEK)])
    assert provider.on_call("Ops / EU?", MONDAY).people == ("eu@x.com",)


def test_naive_datetimes_are_refused(provider: OpsgenieProvider) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        provider.on_call(NAME, datetime(2024, 1, 1, 8))


# -- shifts ----------------------------------------------------------------------------------------


def test_shifts_are_clipped_and_sorted(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    start, end = MONDAY + 3 * DAY, MONDAY + 2 * WEEK + DAY
    assert provider.shifts(NAME, start, end) == [
        Shift("alice@x.com", start, MONDAY + WEEK),
        Shift("bob@x.com", MONDAY + WEEK, MONDAY + 2 * WEEK),
        Shift("carol@x.com", MONDAY + 2 * WEEK, end),
    ]
    query = og.requests("/timeline")[0].query
    assert query == {
        "identifierType": "name",
        "intervalUnit": "days",
        "interval": "13",  # 12 days plus a margin for DST and sub-seconds
        "date": "2024-01-04T08:00:00Z",
    }


def test_one_timeline_request_covers_a_window_with_subseconds_across_dst(
    og: OpsgenieSandbox, provider: OpsgenieProvider
) -> None:
    start = datetime(2024, 3, 25, 20, 48, 1, 654321, tzinfo=UTC)  # Amsterdam springs forward on 31 March
    shifts = provider.shifts(NAME, start, start + 21 * DAY)
    assert len(og.requests("/timeline")) == 1
    assert shifts[0].start == start
    assert shifts[-1].end == start + 21 * DAY


def test_adjacent_periods_of_one_person_merge(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    og.set_rotations(NAME, [Rotation("solo", ["solo@x.com"], MONDAY, DAY)])
    start = MONDAY
    assert provider.shifts(NAME, start, start + 5 * DAY) == [Shift("solo@x.com", start, start + 5 * DAY)]


def test_overrides_split_shifts(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    og.add_override(NAME, "dave@x.com", MONDAY + DAY, MONDAY + 2 * DAY)
    assert provider.shifts(SCHEDULE_ID, MONDAY, MONDAY + 3 * DAY) == [
        Shift("alice@x.com", MONDAY, MONDAY + DAY),
        Shift("dave@x.com", MONDAY + DAY, MONDAY + 2 * DAY),
        Shift("alice@x.com", MONDAY + 2 * DAY, MONDAY + 3 * DAY),
    ]
    assert og.requests("/timeline")[0].query["identifierType"] == "id"


def test_two_rotations_sort_by_start_then_person(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    og.set_rotations(
        NAME,
        [
            Rotation("primary", ["zoe@x.com"], MONDAY, WEEK),
            Rotation("secondary", ["adam@x.com"], MONDAY, WEEK),
        ],
    )
    shifts = provider.shifts(NAME, MONDAY, MONDAY + DAY)
    assert [s.person for s in shifts] == ["adam@x.com", "zoe@x.com"]


def test_shifts_across_dst_stay_right_in_utc(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    # Handoffs at 09:00 Amsterdam: 08:00Z before 2024-03-31, 07:00Z after; the switch day is 23 hours.
    amsterdam = ZoneInfo("Europe/Amsterdam")
    og.set_rotations(
        NAME, [Rotation("daily", ["a@x.com", "b@x.com"], datetime(2024, 3, 29, 9, tzinfo=amsterdam), DAY)]
    )
    start, end = datetime(2024, 3, 30, 8, tzinfo=UTC), datetime(2024, 4, 1, 7, tzinfo=UTC)
    shifts = provider.shifts(NAME, start, end)
    assert shifts == [
        Shift("b@x.com", datetime(2024, 3, 30, 8, tzinfo=UTC), datetime(2024, 3, 31, 7, tzinfo=UTC)),
        Shift("a@x.com", datetime(2024, 3, 31, 7, tzinfo=UTC), datetime(2024, 4, 1, 7, tzinfo=UTC)),
    ]
    assert all(s.start.tzinfo is UTC and s.end.tzinfo is UTC for s in shifts)
    assert [s.start.astimezone(amsterdam).hour for s in shifts] == [9, 9]


def test_a_short_timeline_window_is_followed_up(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    # If Opsgenie answers a shorter window than asked, the provider asks again from where it ended.
    listed = httpx.get(f"{og.url}/v2/schedules?expand=rotation", headers={"Authorization": f"GenieKey {KEY}"})
    rotation_id = listed.json()["data"][0]["rotations"][0]["id"]
    period = {
        "startDate": "2024-01-01T08:00:00Z",
        "endDate": "2024-01-02T08:00:00Z",
        "type": "default",
        "recipient": {"id": "u1", "name": "alice@x.com", "type": "user"},
    }
    first = {
        "startDate": "2024-01-01T08:00:00Z",
        "endDate": "2024-01-02T08:00:00Z",
        "finalTimeline": {"rotations": [{"id": rotation_id, "name": "weekly", "periods": [period]}]},
    }
    og.fail(200, body=json.dumps({"data": first}), path_contains="/timeline")
    og.clear_requests()
    shifts = provider.shifts(NAME, MONDAY, MONDAY + 3 * DAY)
    assert len(og.requests("/timeline")) == 2
    assert og.requests("/timeline")[1].query["date"] == "2024-01-02T08:00:00Z"
    assert [(s.person, s.start, s.end) for s in shifts] == [("alice@x.com", MONDAY, MONDAY + 3 * DAY)]


def test_an_empty_window_asks_nothing(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    assert provider.shifts(NAME, MONDAY, MONDAY) == []
    assert og.requests() == []


# -- check and alerts ------------------------------------------------------------------------------


def test_check_passes_with_a_good_key(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    provider.check()
    assert og.requests()[0].path == "/v2/account"


def test_create_alert_and_follow_it(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    og.alert_processing_polls = 1
    alert = AlertRequest(
        message="m" * 200,
        description="The pipeline is down",
        alias="Ev123",
        schedule=NAME,
        priority="P2",
        tags=("slack",),
        details={"channel": "C1"},
        user="alice@x.com",
    )
    request_id = provider.create_alert(alert)
    pending = provider.alert_status(request_id)
    assert (pending.done, pending.success) == (False, False)
    done = provider.alert_status(request_id)
    [created] = og.alerts()
    assert (done.done, done.success, done.alert_id) == (True, True, created["id"])
    assert done.message == "Created alert"
    assert len(created["message"]) == 130  # trimmed at the edge rather than refused with 422
    assert created["responders"] == [{"type": "schedule", "name": NAME}]
    assert (created["alias"], created["priority"], created["tags"]) == ("Ev123", "P2", ["slack"])
    assert (created["details"], created["user"], created["source"]) == (
        {"channel": "C1"},
        "alice@x.com",
        "oncall-bot",
    )
    assert "note" not in created


def test_alert_for_a_schedule_id_uses_the_id(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    provider.create_alert(AlertRequest(message="m", description="d", alias="a", schedule=SCHEDULE_ID))
    assert og.alerts()[0]["responders"] == [{"type": "schedule", "id": SCHEDULE_ID}]


def test_unknown_alert_request_is_a_bad_response(provider: OpsgenieProvider) -> None:
    with pytest.raises(BadResponse, match="no alert request 'nope'"):
        provider.alert_status("nope")


def test_422_becomes_a_bad_response_with_opsgenie_s_words(
    og: OpsgenieSandbox, provider: OpsgenieProvider
) -> None:
    with pytest.raises(BadResponse, match="Priority should be one of") as caught:
        provider.create_alert(
            AlertRequest(message="m", description="d", alias="a", schedule=NAME, priority="P9")
        )
    assert "HTTP 422" in str(caught.value)
    assert og.alerts() == []


# -- retries ---------------------------------------------------------------------------------------


def test_two_503s_are_retried_with_exponential_backoff(
    og: OpsgenieSandbox, provider: OpsgenieProvider, sleeps: Sleeps
) -> None:
    og.fail(503, times=2)
    assert provider.on_call(NAME, MONDAY).people == ("alice@x.com",)
    assert len(og.requests("/on-calls")) == 3
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 0.55
    assert 1.0 <= sleeps[1] <= 1.1


def test_a_per_second_429_is_retried_after_the_backoff(
    og: OpsgenieSandbox, provider: OpsgenieProvider, sleeps: Sleeps
) -> None:
    og.fail(429)
    assert provider.shifts(NAME, MONDAY, MONDAY + DAY) == [Shift("alice@x.com", MONDAY, MONDAY + DAY)]
    assert len(sleeps) == 1
    assert 0.5 <= sleeps[0] <= 0.55


def test_a_per_minute_429_gives_up_at_once(
    og: OpsgenieSandbox, provider: OpsgenieProvider, sleeps: Sleeps
) -> None:
    og.fail(429, times=10, headers={"X-RateLimit-Period-In-Sec": "60"})
    with pytest.raises(RateLimited, match="ScheduleOnCalls, 60-second window"):
        provider.on_call(NAME, MONDAY)
    assert sleeps == []
    assert len(og.requests()) == 1


def test_429_after_all_retries_is_rate_limited(
    og: OpsgenieSandbox, provider: OpsgenieProvider, sleeps: Sleeps
) -> None:
    og.fail(429, times=10)
    with pytest.raises(RateLimited):
        provider.on_call(NAME, MONDAY)
    assert len(og.requests()) == 5
    assert len(sleeps) == 4


def test_persistent_503_is_unreachable(
    og: OpsgenieSandbox, provider: OpsgenieProvider, sleeps: Sleeps
) -> None:
    og.down = True
    with pytest.raises(Unreachable, match=f"Opsgenie unreachable at {og.url}: HTTP 503") as caught:
        provider.on_call(NAME, MONDAY)
    assert "after 5 attempts" in str(caught.value)
    assert len(sleeps) == 4
    for attempt, delay in enumerate(sleeps):  # backoff · 2^n, plus up to 10 % jitter
        assert 0.5 * 2**attempt <= delay <= 0.55 * 2**attempt


def test_501_is_not_retried(og: OpsgenieSandbox, provider: OpsgenieProvider, sleeps: Sleeps) -> None:
    og.fail(501)
    with pytest.raises(BadResponse, match="HTTP 501"):
        provider.check()
    assert sleeps == []


def test_a_hanging_server_is_unreachable(og: OpsgenieSandbox, sleeps: Sleeps) -> None:
    og.hang(3.0, times=2)
    fast = OpsgenieProvider(KEY, og.url, tuning=Tuning(timeout=0.2, max_retries=1, sleep=sleeps))
    with fast, pytest.raises(Unreachable, match=r"no answer within 0\.2 s"):
        fast.on_call(NAME, MONDAY)
    assert len(sleeps) == 1


def test_connection_refused_is_unreachable(sleeps: Sleeps) -> None:
    sandbox = OpsgenieSandbox(api_key=KEY).start()
    url = sandbox.url
    sandbox.stop()
    dead = OpsgenieProvider(KEY, url, tuning=Tuning(max_retries=2, sleep=sleeps))
    with dead, pytest.raises(Unreachable, match=f"Opsgenie unreachable at {url}: connection failed"):
        dead.check()
    assert len(sleeps) == 2


def test_a_stopped_pager_cuts_pooled_connections(og: OpsgenieSandbox, sleeps: Sleeps) -> None:
    with OpsgenieProvider(KEY, og.url, tuning=Tuning(max_retries=1, sleep=sleeps)) as pooled:
        pooled.check()  # leaves a keep-alive connection in the pool
        og.stop()
        with pytest.raises(Unreachable):
            pooled.check()


def test_retries_log_without_the_key(
    og: OpsgenieSandbox, provider: OpsgenieProvider, caplog: pytest.LogCaptureFixture
) -> None:
    og.fail(502)
    with caplog.at_level(logging.DEBUG):
        provider.check()
    assert "HTTP 502" in caplog.text
    assert KEY not in caplog.text


# -- error mapping ---------------------------------------------------------------------------------


def test_a_wrong_key_is_bad_credentials_without_the_key(og: OpsgenieSandbox) -> None:
    with OpsgenieProvider("wrong-key-987", og.url) as wrong, pytest.raises(BadCredentials) as caught:
        wrong.check()
    message = str(caught.value)
    assert message == (
        "Opsgenie rejected the API key (HTTP 401): check OPSGENIE_API_KEY and that the integration is enabled"
    )
    assert "wrong-key-987" not in message


def test_an_echoed_key_is_scrubbed(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    og.fail(400, body=f'{{"message": "bad key {KEY}", "took": 0, "requestId": "r"}}')
    with pytest.raises(BadResponse) as caught:
        provider.check()
    assert KEY not in str(caught.value)
    assert "[redacted]" in str(caught.value)


def test_403_is_access_denied_naming_the_schedule(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    og.deny_schedule(NAME)
    with pytest.raises(AccessDenied, match=r"schedule 'Platform primary'.*team-owned"):
        provider.on_call(NAME, MONDAY)


def test_402_is_access_denied_for_the_plan(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    og.fail(402)
    with pytest.raises(AccessDenied, match="plan"):
        provider.shifts(NAME, MONDAY, MONDAY + DAY)


def test_404_is_schedule_not_found(provider: OpsgenieProvider) -> None:
    with pytest.raises(ScheduleNotFound) as caught:
        provider.on_call("Nope", MONDAY)
    assert str(caught.value) == "Opsgenie has no schedule named 'Nope'"
    with pytest.raises(ScheduleNotFound, match="with id"):
        provider.shifts("00000000-0000-4000-8000-000000000000", MONDAY, MONDAY + DAY)


def test_a_wrong_base_url_says_so(og: OpsgenieSandbox) -> None:
    misconfigured = OpsgenieProvider(KEY, f"{og.url}/v2")
    with misconfigured, pytest.raises(BadResponse, match="right API URL"):
        misconfigured.check()


@pytest.mark.parametrize(
    "body",
    [
        "<html>gateway</html>",
        "[1, 2]",
        '{"took": 0.1}',
        '{"data": {"onCallRecipients": "alice"}}',
    ],
)
def test_garbage_is_a_bad_response(og: OpsgenieSandbox, provider: OpsgenieProvider, body: str) -> None:
    og.fail(200, body=body)
    with pytest.raises(BadResponse):
        provider.on_call(NAME, MONDAY)


def test_garbage_timeline_is_a_bad_response(og: OpsgenieSandbox, provider: OpsgenieProvider) -> None:
    og.fail(200, body='{"data": {"finalTimeline": {"rotations": [{"periods": [{"startDate": "soon"}]}]}}}')
    with pytest.raises(BadResponse):
        provider.shifts(NAME, MONDAY, MONDAY + DAY)


def test_the_transport_is_the_seam() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"GenieKey {KEY}"
        return httpx.Response(200, json={"data": {"name": "acme"}, "took": 0.0, "requestId": "r"})

    eu_url = "https://api.eu.opsgenie.com"  # MockTransport answers in-process: nothing is sent there
    with OpsgenieProvider(KEY, eu_url, tuning=Tuning(transport=httpx.MockTransport(answer))) as eu:
        eu.check()
