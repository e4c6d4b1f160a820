"""PagerDutyProvider's failures: error bodies mapped to narrow errors, retries and the rate limit honoured."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from app.providers import (
    AccessDenied,
    BadCredentials,
    BadResponse,
    RateLimited,
    ScheduleNotFound,
    Unreachable,
)
from app.providers.pagerduty import PagerDutyProvider
from app.sandbox.pagerduty import PagerDutySandbox, Rotation
from tests.providers.test_pagerduty import DAY, MONDAY, NAME, PEOPLE, SCHEDULE_ID, TOKEN, WEEK, Clock, make


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pd(clock: Clock) -> Iterator[PagerDutySandbox]:
    with PagerDutySandbox(api_token=TOKEN, monotonic=clock) as sandbox:
        sandbox.add_schedule(NAME, schedule_id=SCHEDULE_ID, layers=[Rotation("weekly", PEOPLE, MONDAY, WEEK)])
        yield sandbox


@pytest.fixture
def provider(pd: PagerDutySandbox, clock: Clock) -> Iterator[PagerDutyProvider]:
    with make(pd, clock) as client:
        yield client


def test_a_bad_token_is_bad_credentials_naming_the_variable(pd: PagerDutySandbox, clock: Clock) -> None:
    with make(pd, clock, token="wrong-token", token_env="PD_TOKEN_DATA") as provider:
        with pytest.raises(BadCredentials) as caught:
            provider.on_call(SCHEDULE_ID, MONDAY)
        with pytest.raises(BadCredentials):
            provider.check()
    assert "PagerDuty rejected the API token (HTTP 401): check PD_TOKEN_DATA" in str(caught.value)
    assert not caught.value.retryable
    assert len(pd.requests("/oncalls")) == 1  # a 401 is not retried


def test_a_denied_schedule_is_access_denied(pd: PagerDutySandbox, provider: PagerDutyProvider) -> None:
    pd.deny_schedule(NAME)
    with pytest.raises(AccessDenied, match=r"access to schedule 'PSCHED01' \(HTTP 403"):
        provider.on_call(SCHEDULE_ID, MONDAY)
    with pytest.raises(AccessDenied):
        provider.shifts(SCHEDULE_ID, MONDAY, MONDAY + DAY)


def test_a_missing_schedule_is_schedule_not_found(provider: PagerDutyProvider) -> None:
    with pytest.raises(ScheduleNotFound) as caught:
        provider.shifts("PMISSIN", MONDAY, MONDAY + DAY)
    assert not caught.value.retryable


def test_a_wrong_api_url_is_a_bad_response(pd: PagerDutySandbox, clock: Clock) -> None:
    with (
        make(pd, clock, base_url=pd.url + "/nested") as provider,
        pytest.raises(BadResponse, match="right API URL"),
    ):
        provider.check()


def test_5xx_is_retried_then_unreachable(
    pd: PagerDutySandbox, clock: Clock, provider: PagerDutyProvider
) -> None:
    pd.fail(503, times=2, path_contains="/oncalls")
    assert provider.on_call(SCHEDULE_ID, MONDAY).people == ("alice@x.com",)
    assert len(clock.sleeps) == 2
    pd.fail(500, times=10)
    with pytest.raises(Unreachable, match=r"HTTP 500 after 5 attempts"):
        provider.on_call(SCHEDULE_ID, MONDAY)


def test_a_hang_times_out_as_unreachable(pd: PagerDutySandbox, clock: Clock) -> None:
    pd.hang(3.0, times=2)
    with (
        make(pd, clock, timeout=0.3, max_retries=1) as provider,
        pytest.raises(Unreachable, match=r"no answer within 0\.3 s"),
    ):
        provider.on_call(SCHEDULE_ID, MONDAY)


def test_garbage_answers_are_bad_responses(pd: PagerDutySandbox, provider: PagerDutyProvider) -> None:
    pd.fail(200, body="<html>captive portal</html>")
    with pytest.raises(BadResponse, match="not JSON"):
        provider.on_call(SCHEDULE_ID, MONDAY)
    pd.fail(200, body='{"oncalls": "nope"}')
    with pytest.raises(BadResponse, match="no 'oncalls' list"):
        provider.on_call(SCHEDULE_ID, MONDAY)
    pd.fail(
        400,
        body=json.dumps(
            {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["bad since"]}}
        ),
    )
    with pytest.raises(BadResponse, match=r"HTTP 400\): Invalid Input Provided \(bad since\)") as caught:
        provider.on_call(SCHEDULE_ID, MONDAY)
    assert not caught.value.retryable


def test_no_secret_reaches_an_error_message(pd: PagerDutySandbox, provider: PagerDutyProvider) -> None:
    echo = {"error": {"message": f"token {TOKEN} is odd", "code": 2001, "errors": [f"Token token={TOKEN}"]}}
    pd.fail(400, body=json.dumps(echo))
    with pytest.raises(BadResponse) as caught:
        provider.on_call(SCHEDULE_ID, MONDAY)
    assert TOKEN not in str(caught.value)
    assert "[redacted]" in str(caught.value)  # the one redaction (app/redaction.py) has one marker


# -- rate limits -----------------------------------------------------------------------------------


def test_a_429_waits_for_ratelimit_reset_then_succeeds(
    pd: PagerDutySandbox, clock: Clock, provider: PagerDutyProvider
) -> None:
    pd.rate_limit = 2
    provider.on_call(SCHEDULE_ID, MONDAY)
    clock.now += 15
    provider.on_call(SCHEDULE_ID, MONDAY)  # the sandbox said remaining 0, reset in 45 s
    assert clock.sleeps == []
    with make(pd, clock, max_throttle_wait=60) as patient:  # a fresh client that never saw the headers
        assert patient.on_call(SCHEDULE_ID, MONDAY).people == ("alice@x.com",)
    assert clock.sleeps == [45.0]
    assert [r.status for r in pd.requests("/oncalls")] == [200, 200, 429, 200]


def test_remaining_zero_makes_the_next_request_wait_instead_of_429(
    pd: PagerDutySandbox, clock: Clock, provider: PagerDutyProvider
) -> None:
    pd.rate_limit = 1
    provider.on_call(SCHEDULE_ID, MONDAY)
    with pytest.raises(RateLimited, match="rate limit for this API token is used up for 60 s"):
        provider.on_call(SCHEDULE_ID, MONDAY)  # 60 s is longer than a job should wait
    assert len(pd.requests("/oncalls")) == 1  # nothing was sent into the closed window
    clock.now += 50
    assert provider.on_call(SCHEDULE_ID, MONDAY).people == ("alice@x.com",)  # waits the last 10 s
    assert clock.sleeps == [10.0]
    assert [r.status for r in pd.requests("/oncalls")] == [200, 200]


def test_the_client_keeps_under_its_own_budget(pd: PagerDutySandbox, clock: Clock) -> None:
    with make(pd, clock, requests_per_minute=2, max_throttle_wait=120) as provider:
        for _ in range(3):
            provider.on_call(SCHEDULE_ID, MONDAY)
    assert clock.sleeps == [60.0]
    assert [r.status for r in pd.requests()] == [200, 200, 200]


def test_a_429_without_headers_backs_off_and_gives_up_as_rate_limited(
    pd: PagerDutySandbox, clock: Clock, provider: PagerDutyProvider
) -> None:
    pd.fail(429, times=5, headers={"ratelimit-reset": "", "ratelimit-remaining": ""})
    with pytest.raises(RateLimited) as caught:
        provider.on_call(SCHEDULE_ID, MONDAY)
    assert caught.value.retryable
    assert len(clock.sleeps) == 4
