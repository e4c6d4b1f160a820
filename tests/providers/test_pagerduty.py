"""PagerDutyProvider against the PagerDuty sandbox over real HTTP: schedules, people, paging, errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import pytest

from app.domain import OnCall, Shift
from app.providers import Provider, ScheduleNotFound
from app.providers.pagerduty import PagerDutyProvider
from app.providers.tuning import Tuning
from app.sandbox.pagerduty import ROUTING_KEY, PagerDutySandbox, Rotation

TOKEN = "pd-secret-token-1234"
SCHEDULE_ID = "PSCHED01"
NAME = "Platform primary"
MONDAY = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
WEEK, DAY, HOUR = timedelta(days=7), timedelta(days=1), timedelta(hours=1)
PEOPLE = ["alice@x.com", "bob@x.com", "carol@x.com"]


class Clock:
    """One fake monotonic clock for the sandbox's rate window and the provider's sleeps."""

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
def pd(clock: Clock) -> Iterator[PagerDutySandbox]:
    """'Platform primary' (PSCHED01): weekly alice → bob → carol from 2024-01-01 09:00 Amsterdam."""
    with PagerDutySandbox(api_token=TOKEN, monotonic=clock) as sandbox:
        sandbox.add_schedule(NAME, schedule_id=SCHEDULE_ID, layers=[Rotation("weekly", PEOPLE, MONDAY, WEEK)])
        yield sandbox


TUNING = {f.name for f in fields(Tuning)}  # make()'s options that tune the client


def make(pd: PagerDutySandbox, clock: Clock, **options: object) -> PagerDutyProvider:
    """A provider on the sandbox that sleeps on the fake clock."""
    tuning = Tuning(timeout=2.0, backoff=0.01, sleep=clock.sleep, monotonic=clock)
    tuning = replace(tuning, **{k: v for k, v in options.items() if k in TUNING})  # type: ignore[arg-type]
    settings: dict[str, object] = {
        "routing_key": ROUTING_KEY,
        "base_url": pd.url,
        "events_url": pd.events_url,
        "tuning": tuning,
        **{k: v for k, v in options.items() if k not in TUNING},
    }
    return PagerDutyProvider(str(settings.pop("token", TOKEN)), **settings)  # type: ignore[arg-type]


@pytest.fixture
def provider(pd: PagerDutySandbox, clock: Clock) -> Iterator[PagerDutyProvider]:
    with make(pd, clock) as client:
        yield client


def test_it_is_a_provider(provider: PagerDutyProvider) -> None:
    typed: Provider = provider
    assert (typed.name, typed.can_page) == ("PagerDuty", True)


# -- on_call ---------------------------------------------------------------------------------------


def test_on_call_by_id_asks_oncalls_at_the_instant(pd: PagerDutySandbox, provider: PagerDutyProvider) -> None:
    at = MONDAY + WEEK + DAY
    assert provider.on_call(SCHEDULE_ID, at) == OnCall(schedule=SCHEDULE_ID, at=at, people=("bob@x.com",))
    [request] = pd.requests()
    assert request.path == "/oncalls"
    assert request.query["schedule_ids[]"] == [SCHEDULE_ID]
    assert request.query["since"] == request.query["until"] == ["2024-01-09T08:00:00Z"]
    assert request.headers == {
        "accept": "application/vnd.pagerduty+json;version=2",
        "authorization": f"Token token={TOKEN}",
    }


def test_on_call_by_exact_name_looks_the_id_up_once(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    pd.add_schedule("Platform primary (old)", layers=[Rotation("w", ["dave@x.com"], MONDAY, WEEK)])
    assert provider.on_call(NAME, MONDAY).people == ("alice@x.com",)
    assert provider.on_call(NAME, MONDAY + WEEK).people == ("bob@x.com",)
    lookups = pd.requests("/schedules")
    assert [(r.path, r.query["query"]) for r in lookups] == [
        ("/schedules", [NAME]),
        ("/v3/schedules", [NAME]),
    ]
    assert [r.query["schedule_ids[]"] for r in pd.requests("/oncalls")] == [[SCHEDULE_ID]] * 2


def test_on_call_pages_through_more_than_100_oncalls(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    # Three overlapping rotations on a schedule 50 escalation policies use: 150 on-calls, sorted by start,
    # so the latest-starting person appears only on the second page.
    layers = [
        Rotation("a", ["dave@x.com"], MONDAY - 2 * DAY, WEEK),
        Rotation("b", ["erin@x.com"], MONDAY - DAY, WEEK),
        Rotation("c", ["frank@x.com"], MONDAY, WEEK),
    ]
    pd.add_schedule("Busy", schedule_id="PBUSY00", version=3, layers=layers, policies=50)
    people = provider.on_call("PBUSY00", MONDAY + HOUR).people
    assert set(people) == {"dave@x.com", "erin@x.com", "frank@x.com"}
    assert [r.query["offset"] for r in pd.requests("/oncalls")] == [["0"], ["100"]]
    assert {r.query["limit"][0] for r in pd.requests("/oncalls")} == {"100"}


def test_emails_come_with_the_oncalls_and_are_cached(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    provider.on_call(SCHEDULE_ID, MONDAY)
    provider.shifts(SCHEDULE_ID, MONDAY, MONDAY + DAY)
    assert pd.requests("/users/") == []  # alice's email arrived with include[]=users


def test_a_schedule_no_escalation_policy_uses_is_read_directly(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    pd.add_schedule(
        "Lonely", schedule_id="PLONELY", layers=[Rotation("w", ["dave@x.com"], MONDAY, WEEK)], policies=0
    )
    assert provider.on_call("PLONELY", MONDAY + DAY).people == ("dave@x.com",)
    assert [r.path for r in pd.requests()] == [
        "/oncalls",
        "/v3/schedules/PLONELY",
        "/schedules/PLONELY",
        "/users/" + pd.user_id("dave@x.com"),
    ]


def test_overrides_show_in_on_call(pd: PagerDutySandbox, provider: PagerDutyProvider) -> None:
    pd.add_override(NAME, "erin@x.com", MONDAY + DAY, MONDAY + DAY + 2 * HOUR)
    assert provider.on_call(NAME, MONDAY + DAY + HOUR).people == ("erin@x.com",)
    assert provider.on_call(NAME, MONDAY + DAY + 3 * HOUR).people == ("alice@x.com",)


def test_naive_datetimes_are_refused(provider: PagerDutyProvider) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        provider.on_call(SCHEDULE_ID, datetime(2024, 1, 1, 8))


# -- shifts ----------------------------------------------------------------------------------------


def test_shifts_of_a_layer_based_schedule_fall_back_from_v3_once(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    start, end = MONDAY + 3 * DAY, MONDAY + 2 * WEEK + DAY
    expected = [
        Shift("alice@x.com", start, MONDAY + WEEK),
        Shift("bob@x.com", MONDAY + WEEK, MONDAY + 2 * WEEK),
        Shift("carol@x.com", MONDAY + 2 * WEEK, end),
    ]
    assert provider.shifts(NAME, start, end) == expected
    assert [(r.path, r.status) for r in pd.requests("schedules/")] == [
        (f"/v3/schedules/{SCHEDULE_ID}", 400),
        (f"/schedules/{SCHEDULE_ID}", 200),
    ]
    pd.clear_requests()
    assert provider.shifts(NAME, start, end) == expected
    assert [r.path for r in pd.requests()] == [f"/schedules/{SCHEDULE_ID}"]  # shape and emails remembered


def test_an_upgraded_schedule_is_followed_to_v3(pd: PagerDutySandbox, provider: PagerDutyProvider) -> None:
    provider.shifts(SCHEDULE_ID, MONDAY, MONDAY + DAY)
    pd.upgrade(NAME)
    pd.clear_requests()
    assert provider.shifts(SCHEDULE_ID, MONDAY, MONDAY + DAY) == [Shift("alice@x.com", MONDAY, MONDAY + DAY)]
    assert [(r.path, r.status) for r in pd.requests()] == [
        (f"/schedules/{SCHEDULE_ID}", 400),
        (f"/v3/schedules/{SCHEDULE_ID}", 200),
    ]
    assert pd.requests()[1].query["include[]"] == ["final_schedule"]
    assert pd.requests()[1].headers.get("x-early-access") == "flexible-schedules-early-access"


def test_shift_based_schedules_give_overlapping_shifts_and_skip_gaps(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    layers = [
        Rotation("day", ["dave@x.com", "erin@x.com"], MONDAY, 12 * HOUR),
        Rotation("cover", ["frank@x.com"], MONDAY + 6 * HOUR, DAY),
    ]
    pd.add_schedule("Shifts", version=3, layers=layers)
    assert provider.shifts("Shifts", MONDAY - HOUR, MONDAY + DAY) == [
        Shift("dave@x.com", MONDAY, MONDAY + 12 * HOUR),
        Shift("frank@x.com", MONDAY + 6 * HOUR, MONDAY + DAY),
        Shift("erin@x.com", MONDAY + 12 * HOUR, MONDAY + DAY),
    ]
    assert [r.path for r in pd.requests("/schedules")] == [
        "/schedules",
        "/v3/schedules",
        f"/v3/schedules/{pd.schedule('Shifts').id}",
    ]


def test_touching_entries_of_one_person_merge_into_one_shift(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    pd.set_layers(NAME, [Rotation("daily", ["alice@x.com"], MONDAY, DAY)])  # one entry per day upstream
    assert provider.shifts(NAME, MONDAY, MONDAY + 3 * DAY) == [Shift("alice@x.com", MONDAY, MONDAY + 3 * DAY)]


def test_user_emails_are_read_once_and_refreshed_after_a_day(
    pd: PagerDutySandbox, clock: Clock, provider: PagerDutyProvider
) -> None:
    provider.shifts(NAME, MONDAY, MONDAY + 3 * WEEK)
    provider.shifts(NAME, MONDAY, MONDAY + 3 * WEEK)
    assert len(pd.requests("/users/")) == 3
    clock.now += 25 * 3600
    provider.shifts(NAME, MONDAY, MONDAY + WEEK)
    assert len(pd.requests("/users/")) == 4


def test_empty_window_asks_nothing(pd: PagerDutySandbox, provider: PagerDutyProvider) -> None:
    assert provider.shifts(NAME, MONDAY, MONDAY) == []
    assert pd.requests() == []


# -- names -----------------------------------------------------------------------------------------


def test_unknown_names_and_ids(pd: PagerDutySandbox, provider: PagerDutyProvider) -> None:
    with pytest.raises(ScheduleNotFound, match="PagerDuty has no schedule 'Nope'"):
        provider.on_call("Nope", MONDAY)
    with pytest.raises(ScheduleNotFound, match="PagerDuty has no schedule 'PNOPE00'"):
        provider.shifts("PNOPE00", MONDAY, MONDAY + DAY)


def test_a_name_that_looks_like_an_id_is_still_found(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    pd.add_schedule(
        "PLATFORM", schedule_id="PREAL01", layers=[Rotation("w", ["dave@x.com"], MONDAY, WEEK)], policies=0
    )
    assert provider.on_call("PLATFORM", MONDAY).people == ("dave@x.com",)


def test_shift_based_schedules_are_found_by_name_too(
    pd: PagerDutySandbox, provider: PagerDutyProvider
) -> None:
    pd.add_schedule(
        "Shifts", schedule_id="PSHIFT3", version=3, layers=[Rotation("w", ["dave@x.com"], MONDAY, WEEK)]
    )
    assert provider.on_call("Shifts", MONDAY).people == ("dave@x.com",)
    assert pd.requests("/oncalls")[0].query["schedule_ids[]"] == ["PSHIFT3"]


def test_two_schedules_with_one_name_are_refused(pd: PagerDutySandbox, provider: PagerDutyProvider) -> None:
    pd.add_schedule("Twin", schedule_id="PTWIN01", version=2)
    pd.add_schedule("Twin ", schedule_id="PTWIN02", version=3)  # a near-namesake is no match
    assert provider.on_call("Twin", MONDAY).people == ()
    pd.schedules["PTWIN02"].name = "Twin"
    with make(pd, Clock()) as fresh, pytest.raises(ScheduleNotFound, match="2 schedules named 'Twin'"):
        fresh.on_call("Twin", MONDAY)
