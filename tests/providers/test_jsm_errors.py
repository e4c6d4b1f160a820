"""JsmProvider's failures: each JSM error answer is one narrow error with one sentence, never a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from app.providers import (
    AccessDenied,
    BadCredentials,
    BadResponse,
    RateLimited,
    ScheduleNotFound,
    Unreachable,
)
from app.providers.jsm import JsmProvider
from app.providers.jsm_http import retry_after
from app.providers.tuning import Tuning
from app.sandbox.jsm import JsmSandbox, Rotation
from tests.providers.test_jsm import (
    DAY,
    EMAIL,
    MONDAY,
    NAME,
    PEOPLE,
    SCHEDULE_ID,
    TOKEN,
    WEEK,
    Clock,
    make,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jsm() -> Iterator[JsmSandbox]:
    with JsmSandbox(email=EMAIL, api_token=TOKEN, clock=lambda: MONDAY + DAY) as sandbox:
        sandbox.add_schedule(
            NAME, schedule_id=SCHEDULE_ID, rotations=[Rotation("weekly", PEOPLE, MONDAY, WEEK)]
        )
        yield sandbox


@pytest.fixture
def provider(jsm: JsmSandbox, clock: Clock) -> Iterator[JsmProvider]:
    with make(jsm, clock) as client:
        yield client


def test_a_bad_token_is_bad_credentials_naming_the_variables(jsm: JsmSandbox, clock: Clock) -> None:
    with make(jsm, clock, token="wrong-token-5678") as bad:
        with pytest.raises(BadCredentials) as caught:
            bad.on_call(NAME, MONDAY)
        with pytest.raises(BadCredentials):
            bad.check()
    said = str(caught.value)
    assert f"JSM rejected the credentials of {EMAIL} (HTTP 401): check JSM_EMAIL and JSM_API_TOKEN" in said
    assert not caught.value.retryable
    assert len([r for r in jsm.requests() if r.path.endswith("/v1/schedules")]) == 2  # a 401 is not retried
    assert clock.sleeps == []


def test_a_service_account_or_denied_schedule_is_access_denied(
    jsm: JsmSandbox, provider: JsmProvider
) -> None:
    jsm.deny_schedule(NAME)
    with pytest.raises(AccessDenied, match=rf"JSM denied {EMAIL} access to schedule '{NAME}' \(HTTP 403"):
        provider.shifts(NAME, MONDAY, MONDAY + DAY)
    jsm.entitled = False
    with pytest.raises(AccessDenied, match="not a service account") as caught:
        provider.check()
    assert "not entitled to use the Operations API" in str(caught.value)


def test_a_missing_schedule_id_is_schedule_not_found(provider: JsmProvider) -> None:
    missing = "6f9e8d7c-0000-4000-8000-000000000000"
    with pytest.raises(ScheduleNotFound, match=f"no schedule with id '{missing}'") as caught:
        provider.on_call(missing, MONDAY)
    assert not caught.value.retryable


def test_wrong_urls_say_which_setting_to_check(jsm: JsmSandbox, clock: Clock) -> None:
    cases = [
        ({"api_url": jsm.api_url + "/nested"}, "check JSM_API_URL, JSM_SITE_URL and JSM_CLOUD_ID"),
        ({"site_url": jsm.site_url + "/wiki"}, "has no /_edge/tenant_info: check JSM_SITE_URL"),
        ({"cloud_id": "00000000-0000-0000-0000-000000000000"}, "JSM_CLOUD_ID"),
    ]
    for options, said in cases:
        with make(jsm, clock, **options) as provider, pytest.raises(BadResponse, match=said):
            provider.check()


def test_429_waits_what_retry_after_says_then_gives_up(
    jsm: JsmSandbox, provider: JsmProvider, clock: Clock
) -> None:
    jsm.fail(429, times=2, path_contains="/on-calls", headers={"Retry-After": "3"})
    assert provider.on_call(NAME, MONDAY).people == ("alice@x.com",)
    assert clock.sleeps == [3.0, 3.0]
    jsm.fail(429, path_contains="/timeline", headers={"Retry-After": "120"})
    with pytest.raises(RateLimited, match=r"JSM is rate limiting bot@x.com \(HTTP 429, retry after 120 s\)"):
        provider.shifts(NAME, MONDAY, MONDAY + DAY)
    assert clock.sleeps == [3.0, 3.0]  # two minutes is not waited for inside a job


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after(httpx.Headers({"Retry-After": "7"})) == 7.0
    assert retry_after(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert retry_after(httpx.Headers()) is None


def test_5xx_is_retried_then_unreachable(jsm: JsmSandbox, provider: JsmProvider, clock: Clock) -> None:
    jsm.fail(503, times=2, path_contains="/on-calls")
    assert provider.on_call(NAME, MONDAY).people == ("alice@x.com",)
    assert len(clock.sleeps) == 2
    jsm.fail(500, times=10)
    with pytest.raises(Unreachable, match=r"JSM unreachable at .*: HTTP 500 after 5 attempts") as caught:
        provider.on_call(NAME, MONDAY)
    assert caught.value.retryable


def test_a_refused_connection_is_unreachable(clock: Clock) -> None:
    with (
        JsmProvider(
            EMAIL,
            TOKEN,
            site_url="http://127.0.0.1:9",
            api_url="http://127.0.0.1:9",
            tuning=Tuning(max_retries=1, backoff=0.01, sleep=clock.sleep),
        ) as provider,
        pytest.raises(Unreachable, match="connection failed"),
    ):
        provider.check()


def test_the_jira_user_api_refusing_is_a_sentence(jsm: JsmSandbox, provider: JsmProvider) -> None:
    jsm.fail(403, path_contains="/rest/api/3/user")
    with pytest.raises(AccessDenied, match="'Browse users and groups' global permission"):
        provider.on_call(NAME, MONDAY)
    jsm.users.pop(jsm.account_id("alice@x.com"))  # gone since the schedule was written: shown by id
    assert provider.on_call(NAME, MONDAY).people[0].startswith("557058:")


def test_no_secret_reaches_an_error_whatever_the_server_echoes(jsm: JsmSandbox, clock: Clock) -> None:
    echo = json.dumps(
        {"errors": [{"code": "BAD", "title": f"token {TOKEN} and key jsm-int-key-9999 refused"}]}
    )
    jsm.fail(400, path_contains="/on-calls", body=echo)
    with (
        make(jsm, clock, integration_key="jsm-int-key-9999") as provider,
        pytest.raises(BadResponse) as caught,
    ):
        provider.on_call(NAME, MONDAY)
    said = str(caught.value)
    assert TOKEN not in said
    assert "jsm-int-key-9999" not in said
    assert "refused" in said


def test_a_next_page_on_another_host_is_not_followed(jsm: JsmSandbox, provider: JsmProvider) -> None:
    jsm.fail(
        200,
        path_contains="/v1/schedules",
        body=json.dumps({"values": [], "links": {"next": "https://evil.example/v1/schedules?offset=1"}}),
    )
    with pytest.raises(BadResponse, match="another host; not followed"):
        provider.on_call(NAME, MONDAY)
    assert not [r for r in jsm.requests() if "evil" in r.path]


def test_garbage_answers_are_bad_responses(jsm: JsmSandbox, provider: JsmProvider) -> None:
    jsm.fail(200, path_contains="/on-calls", body="<html>maintenance</html>")
    with pytest.raises(BadResponse, match="not JSON"):
        provider.on_call(SCHEDULE_ID, MONDAY)
    jsm.fail(200, path_contains="/on-calls", body=json.dumps({"something": "else"}))
    with pytest.raises(BadResponse, match="on-call answer we cannot read"):
        provider.on_call(SCHEDULE_ID, MONDAY)
    jsm.fail(
        200, path_contains="/timeline", body=json.dumps({"finalTimeline": {"rotations": [{"periods": [{}]}]}})
    )
    with pytest.raises(BadResponse, match="timeline we cannot read"):
        provider.shifts(SCHEDULE_ID, MONDAY, MONDAY + DAY)
