"""JsmProvider against the JSM sandbox over real HTTP: schedules by name or id, people, timelines, hiding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import pytest

from app.domain import OnCall, Shift
from app.providers import AccessDenied, Provider, ScheduleNotFound
from app.providers.jsm import JsmProvider
from app.providers.tuning import Tuning
from app.sandbox.jsm import JsmSandbox, JsmSchedule, Rotation, account_id_for

TOKEN = "jsm-secret-token-1234"
EMAIL = "bot@x.com"
NAME = "Platform primary"
SCHEDULE_ID = "5c0e7e2f-0b8a-4c1d-9e3f-7a6b5c4d3e2f"
MONDAY = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
WEEK, DAY, HOUR = timedelta(days=7), timedelta(days=1), timedelta(hours=1)
PEOPLE = ["alice@x.com", "bob@x.com", "carol@x.com"]
CAROL = account_id_for("carol@x.com")  # carol hides her email


class Clock:
    """A fake monotonic clock for the provider's caches and sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jsm() -> Iterator[JsmSandbox]:
    """'Platform primary': weekly alice → bob → carol from Monday 2024-01-01; carol hides her email."""
    with JsmSandbox(email=EMAIL, api_token=TOKEN, clock=lambda: MONDAY + DAY) as sandbox:
        sandbox.add_schedule(
            NAME, schedule_id=SCHEDULE_ID, rotations=[Rotation("weekly", PEOPLE, MONDAY, WEEK)]
        )
        sandbox.set_email_visible("carol@x.com", False)
        yield sandbox


TUNING = {f.name for f in fields(Tuning)}  # make()'s options that tune the client


def make(jsm: JsmSandbox, clock: Clock, **options: object) -> JsmProvider:
    """A provider on the sandbox that sleeps on the fake clock."""
    tuning = Tuning(timeout=2.0, backoff=0.01, sleep=clock.sleep, monotonic=clock)
    tuning = replace(tuning, **{k: v for k, v in options.items() if k in TUNING})  # type: ignore[arg-type]
    settings: dict[str, object] = {"site_url": jsm.site_url, "api_url": jsm.api_url, "tuning": tuning}
    settings.update({k: v for k, v in options.items() if k not in TUNING})
    email = str(settings.pop("email", EMAIL))
    token = str(settings.pop("token", TOKEN))
    return JsmProvider(email, token, **settings)  # type: ignore[arg-type]


@pytest.fixture
def provider(jsm: JsmSandbox, clock: Clock) -> Iterator[JsmProvider]:
    with make(jsm, clock) as client:
        yield client


def test_it_is_a_provider_that_pages() -> None:
    assert isinstance(JsmProvider.name, str)
    provider: Provider = JsmProvider(EMAIL, TOKEN, site_url="http://127.0.0.1:9")
    assert provider.can_page
    assert provider.name == "JSM"
    provider.close()


def test_on_call_by_name_gives_emails_and_the_account_id_of_a_hidden_email(
    jsm: JsmSandbox, provider: JsmProvider
) -> None:
    at = MONDAY + 2 * DAY
    assert provider.on_call(NAME, at) == OnCall(schedule=NAME, at=at, people=("alice@x.com",))
    assert provider.on_call(NAME, MONDAY + 15 * DAY).people == (CAROL,)
    [request] = jsm.requests("/on-calls")[-1:]
    assert request.query["flat"] == ["true"]
    assert request.query["date"] == ["2024-01-16T08:00:00Z"]


def test_the_name_is_listed_once_and_the_cloud_id_read_once(jsm: JsmSandbox, provider: JsmProvider) -> None:
    for index in range(5):
        jsm.add_schedule(f"Other {index}")
    jsm.max_page_size = 2  # four pages: the provider follows links.next
    for day in range(3):
        provider.on_call(NAME, MONDAY + day * DAY)
    listings = [r for r in jsm.requests(host="api") if r.path.endswith("/v1/schedules")]
    assert len(listings) == 3  # one listing of three pages, for all three reads
    assert len(jsm.requests("/_edge/tenant_info")) == 1
    assert all(r.authorization == "" for r in jsm.requests("/_edge/tenant_info"))  # public: no credentials


def test_a_schedule_id_needs_no_listing_and_a_cloud_id_no_tenant_info(jsm: JsmSandbox, clock: Clock) -> None:
    with make(jsm, clock, cloud_id=jsm.cloud_id) as provider:
        assert provider.on_call(SCHEDULE_ID, MONDAY).people == ("alice@x.com",)
    assert not [r for r in jsm.requests() if r.path.endswith("/v1/schedules")]
    assert not jsm.requests("/_edge/tenant_info")


def test_emails_are_asked_once_per_account(jsm: JsmSandbox, provider: JsmProvider, clock: Clock) -> None:
    for week in range(4):
        provider.on_call(NAME, MONDAY + week * WEEK)
    provider.shifts(NAME, MONDAY, MONDAY + 3 * WEEK)
    asked = [r.query["accountId"][0] for r in jsm.requests("/rest/api/3/user")]
    assert sorted(asked) == sorted(account_id_for(p) for p in PEOPLE)
    clock.now += 25 * 3600  # a day later the cache is stale: Jira is asked again
    provider.on_call(NAME, MONDAY)
    assert len(jsm.requests("/rest/api/3/user")) == 4


def test_shifts_follow_the_final_timeline_with_overrides(jsm: JsmSandbox, provider: JsmProvider) -> None:
    jsm.add_override(NAME, "dave@x.com", MONDAY + 2 * DAY, MONDAY + 3 * DAY)
    shifts = provider.shifts(NAME, MONDAY, MONDAY + 2 * WEEK + DAY)
    assert shifts == [
        Shift("alice@x.com", MONDAY, MONDAY + 2 * DAY),
        Shift("dave@x.com", MONDAY + 2 * DAY, MONDAY + 3 * DAY),
        Shift("alice@x.com", MONDAY + 3 * DAY, MONDAY + WEEK),
        Shift("bob@x.com", MONDAY + WEEK, MONDAY + 2 * WEEK),
        Shift(CAROL, MONDAY + 2 * WEEK, MONDAY + 2 * WEEK + DAY),
    ]
    [request] = jsm.requests("/timeline")
    assert (request.query["intervalUnit"], request.query["interval"]) == (["days"], ["16"])
    assert provider.shifts(NAME, MONDAY, MONDAY) == []


def test_a_hidden_schedule_is_said_never_read_as_nobody(jsm: JsmSandbox, provider: JsmProvider) -> None:
    jsm.hide_schedule(NAME)
    with pytest.raises(AccessDenied) as caught:
        provider.shifts(NAME, MONDAY - WEEK, MONDAY + 2 * WEEK)
    said = str(caught.value)
    assert f"JSM shows schedule '{NAME}' with 1 rotation(s) but nobody on call" in said
    assert f"{EMAIL} probably may not see the schedule's team" in said
    with pytest.raises(AccessDenied, match="JSM answers empty lists instead of refusing"):
        provider.on_call(NAME, MONDAY)


def test_a_gap_now_with_people_later_is_nobody_on_call(jsm: JsmSandbox, provider: JsmProvider) -> None:
    later = Rotation("later", ["alice@x.com"], MONDAY + 3 * DAY, WEEK)
    jsm.set_rotations(NAME, [later])
    assert provider.on_call(NAME, MONDAY).people == ()  # someone is on call within two weeks: a real gap
    empty = jsm.add_schedule("Empty")
    with pytest.raises(AccessDenied, match="without rotations or anyone on call"):
        provider.on_call(empty, MONDAY)


def test_names_that_are_missing_or_duplicated_say_so(jsm: JsmSandbox, provider: JsmProvider) -> None:
    with pytest.raises(ScheduleNotFound, match=f"no schedule named 'Nope' that {EMAIL} can see") as caught:
        provider.on_call("Nope", MONDAY)
    assert not caught.value.retryable
    jsm.add_schedule("Twice", schedule_id="11111111-1111-4111-8111-111111111111")
    twin = "22222222-2222-4222-8222-222222222222"
    jsm.schedules[twin] = JsmSchedule(twin, "Twice", "UTC", "team")  # JSM does not keep names unique
    with make(jsm, Clock()) as fresh, pytest.raises(ScheduleNotFound, match="2 schedules named 'Twice'"):
        fresh.on_call("Twice", MONDAY)


def test_a_name_created_later_is_found_after_the_relist_delay(
    jsm: JsmSandbox, provider: JsmProvider, clock: Clock
) -> None:
    with pytest.raises(ScheduleNotFound):
        provider.on_call("Later", MONDAY)
    jsm.add_schedule("Later", rotations=[Rotation("w", ["bob@x.com"], MONDAY, WEEK)])
    with pytest.raises(ScheduleNotFound):
        provider.on_call("Later", MONDAY)  # the listing is fresh: not asked again at once
    clock.now += 601
    assert provider.on_call("Later", MONDAY).people == ("bob@x.com",)


def test_a_deleted_schedule_is_looked_up_again_by_name(jsm: JsmSandbox, provider: JsmProvider) -> None:
    provider.on_call(NAME, MONDAY)
    state = jsm.schedules.pop(SCHEDULE_ID)
    with pytest.raises(ScheduleNotFound, match=f"id {SCHEDULE_ID}\\) is gone"):
        provider.on_call(NAME, MONDAY)
    state.id = "33333333-3333-4333-8333-333333333333"
    jsm.schedules[state.id] = state
    assert provider.on_call(NAME, MONDAY).people == ("alice@x.com",)
