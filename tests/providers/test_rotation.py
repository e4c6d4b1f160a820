"""The built-in rotation's maths: turns on the team's wall clock across DST, overrides, layers, gaps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain import RotationLayer, RotationOverride, RotationSpec, Shift
from app.providers.rotation import RotationProvider, wall_clock_instant

AMS, NYC = "Europe/Amsterdam", "America/New_York"
A, B, C = "alice@corp.example", "U0BOB000001", "carol@corp.example"


def local(zone: str, *parts: int) -> datetime:
    """An aware moment on ``zone``'s wall clock."""
    return datetime(*parts, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def turns(zone: str, spec: RotationSpec, start: datetime, end: datetime) -> list[tuple[str, str, str]]:
    """(person, start, end) on the team's wall clock with its UTC offset, e.g. ``03-29 09:00+02``."""
    shifts = RotationProvider(spec, zone).shifts("team", start, end)

    def show(moment: datetime) -> str:
        value = moment.astimezone(ZoneInfo(zone))
        offset = int(value.utcoffset().total_seconds() // 3600)  # type: ignore[union-attr]
        return f"{value:%m-%d %H:%M}{offset:+03d}"

    return [(s.person, show(s.start), show(s.end)) for s in shifts]


def one_layer(
    people: tuple[str, ...], shift: timedelta, start: datetime, *overrides: RotationOverride
) -> RotationSpec:
    return RotationSpec(layers=(RotationLayer(people, shift, start),), overrides=overrides)


# ---- daily shifts keep their wall-clock time across both DST changes, in two zones ---------------------


@pytest.mark.parametrize(
    ("zone", "first", "expected"),
    [
        (  # Amsterdam springs forward on Sunday 29 March 2026 at 02:00 → 03:00
            AMS,
            datetime(2026, 3, 27, 9, 0),
            [
                (A, "03-27 09:00+01", "03-28 09:00+01"),
                (B, "03-28 09:00+01", "03-29 09:00+02"),  # 23 hours long
                (C, "03-29 09:00+02", "03-30 09:00+02"),
            ],
        ),
        (  # Amsterdam falls back on Sunday 25 October 2026 at 03:00 → 02:00
            AMS,
            datetime(2026, 10, 23, 9, 0),
            [
                (A, "10-23 09:00+02", "10-24 09:00+02"),
                (B, "10-24 09:00+02", "10-25 09:00+01"),  # 25 hours long
                (C, "10-25 09:00+01", "10-26 09:00+01"),
            ],
        ),
        (  # New York springs forward on Sunday 8 March 2026 at 02:00 → 03:00
            NYC,
            datetime(2026, 3, 6, 9, 0),
            [
                (A, "03-06 09:00-05", "03-07 09:00-05"),
                (B, "03-07 09:00-05", "03-08 09:00-04"),
                (C, "03-08 09:00-04", "03-09 09:00-04"),
            ],
        ),
        (  # New York falls back on Sunday 1 November 2026 at 02:00 → 01:00
            NYC,
            datetime(2026, 10, 30, 9, 0),
            [
                (A, "10-30 09:00-04", "10-31 09:00-04"),
                (B, "10-31 09:00-04", "11-01 09:00-05"),
                (C, "11-01 09:00-05", "11-02 09:00-05"),
            ],
        ),
    ],
)
def test_a_daily_shift_starts_at_the_same_wall_clock_time_across_dst(
    zone: str, first: datetime, expected: list[tuple[str, str, str]]
) -> None:
    spec = one_layer((A, B, C), timedelta(days=1), first)
    start = first.replace(tzinfo=ZoneInfo(zone))
    assert turns(zone, spec, start, start + timedelta(days=3)) == expected


def test_12h_shifts_across_amsterdam_spring_forward() -> None:
    spec = one_layer((A, B), timedelta(hours=12), datetime(2026, 3, 28, 9, 0))
    assert turns(AMS, spec, local(AMS, 2026, 3, 28, 9), local(AMS, 2026, 3, 30, 9)) == [
        (A, "03-28 09:00+01", "03-28 21:00+01"),
        (B, "03-28 21:00+01", "03-29 09:00+02"),  # the night with the lost hour is 11 hours
        (A, "03-29 09:00+02", "03-29 21:00+02"),
        (B, "03-29 21:00+02", "03-30 09:00+02"),
    ]


def test_weekly_and_fortnightly_shifts_across_new_york_fall_back() -> None:
    weekly = one_layer((A, B, C), timedelta(weeks=1), datetime(2026, 10, 19, 9, 0))
    assert turns(NYC, weekly, local(NYC, 2026, 10, 19, 9), local(NYC, 2026, 11, 9, 9)) == [
        (A, "10-19 09:00-04", "10-26 09:00-04"),
        (B, "10-26 09:00-04", "11-02 09:00-05"),  # one hour longer: the week holds the change
        (C, "11-02 09:00-05", "11-09 09:00-05"),
    ]
    fortnightly = one_layer((A, B), timedelta(weeks=2), datetime(2026, 3, 2, 9, 0))
    assert turns(AMS, fortnightly, local(AMS, 2026, 3, 2, 9), local(AMS, 2026, 4, 13, 9)) == [
        (A, "03-02 09:00+01", "03-16 09:00+01"),
        (B, "03-16 09:00+01", "03-30 09:00+02"),
        (A, "03-30 09:00+02", "04-13 09:00+02"),
    ]


def test_turns_continue_long_after_the_start_and_nobody_is_on_call_before_it() -> None:
    spec = one_layer((A, B, C), timedelta(weeks=1), datetime(2026, 11, 30, 9, 0))
    provider = RotationProvider(spec, AMS)
    assert provider.on_call("team", local(AMS, 2026, 11, 30, 8, 59)).people == ()
    assert provider.on_call("team", local(AMS, 2026, 11, 30, 9)).people == (A,)
    # 52 weeks later: 52 % 3 == 1 → bob, at 09:00 local whatever the season.
    later = local(AMS, 2027, 11, 29, 9)
    assert provider.on_call("team", later).people == (B,)
    assert provider.on_call("team", later - timedelta(seconds=1)).people == (A,)


# ---- spring-forward gaps and fall-back overlaps ------------------------------------------------------


def test_a_boundary_in_the_spring_forward_gap_moves_to_the_end_of_the_gap() -> None:
    zone = ZoneInfo(AMS)
    assert wall_clock_instant(datetime(2026, 3, 29, 2, 30), zone) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert wall_clock_instant(datetime(2026, 3, 29, 2, 0), zone) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    # Fall-back overlap: 02:30 happens twice; the first one counts.
    assert wall_clock_instant(datetime(2026, 10, 25, 2, 30), zone) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    spec = one_layer((A, B), timedelta(days=1), datetime(2026, 3, 27, 2, 30))
    assert turns(AMS, spec, local(AMS, 2026, 3, 27, 2, 30), local(AMS, 2026, 3, 31, 2, 30)) == [
        (A, "03-27 02:30+01", "03-28 02:30+01"),
        (B, "03-28 02:30+01", "03-29 03:00+02"),  # 02:30 does not exist that night: the turn ends at 03:00
        (A, "03-29 03:00+02", "03-30 02:30+02"),
        (B, "03-30 02:30+02", "03-31 02:30+02"),
    ]


def test_new_york_hourly_boundaries_inside_the_gap_never_run_backwards() -> None:
    spec = one_layer((A, B, C), timedelta(hours=1), datetime(2026, 3, 8, 0, 0))
    shifts = RotationProvider(spec, NYC).shifts("t", local(NYC, 2026, 3, 8, 0), local(NYC, 2026, 3, 8, 5))
    assert all(s.end > s.start for s in shifts)
    assert all(a.end <= b.start for a, b in itertools.pairwise(shifts))
    assert turns(NYC, spec, local(NYC, 2026, 3, 8, 0), local(NYC, 2026, 3, 8, 5)) == [
        (A, "03-08 00:00-05", "03-08 01:00-05"),
        (B, "03-08 01:00-05", "03-08 03:00-04"),  # 02:00 never shows: the 02:00 turn (carol's) is empty
        (A, "03-08 03:00-04", "03-08 04:00-04"),
        (B, "03-08 04:00-04", "03-08 05:00-04"),
    ]


# ---- overrides win, layers add up ---------------------------------------------------------------------


def test_an_override_replaces_the_turn_while_it_lasts_across_dst() -> None:
    override = RotationOverride(C, datetime(2026, 10, 24, 18, 0), datetime(2026, 10, 25, 12, 0))
    spec = one_layer((A, B), timedelta(days=1), datetime(2026, 10, 23, 9, 0), override)
    assert turns(AMS, spec, local(AMS, 2026, 10, 23, 9), local(AMS, 2026, 10, 26, 9)) == [
        (A, "10-23 09:00+02", "10-24 09:00+02"),
        (B, "10-24 09:00+02", "10-24 18:00+02"),
        (C, "10-24 18:00+02", "10-25 12:00+01"),
        (A, "10-25 12:00+01", "10-26 09:00+01"),
    ]
    provider = RotationProvider(spec, AMS)
    assert provider.on_call("t", local(AMS, 2026, 10, 25, 2, 30)).people == (C,)


def test_two_layers_are_on_call_together_and_an_override_beats_both() -> None:
    primary = RotationLayer((A, B), timedelta(weeks=1), datetime(2026, 11, 30, 9, 0))
    secondary = RotationLayer((C,), timedelta(days=1), datetime(2026, 11, 30, 9, 0))
    override = RotationOverride(
        "dave@corp.example", datetime(2026, 12, 3, 9, 0), datetime(2026, 12, 3, 18, 0)
    )
    provider = RotationProvider(RotationSpec((primary, secondary), (override,)), AMS)
    assert provider.on_call("t", local(AMS, 2026, 12, 1, 12)).people == (A, C)
    assert provider.on_call("t", local(AMS, 2026, 12, 3, 12)).people == ("dave@corp.example",)
    assert provider.on_call("t", local(AMS, 2026, 12, 8, 12)).people == (B, C)
    # One person's back-to-back daily turns read as one shift, as a pager's timeline would show them.
    week = provider.shifts("t", local(AMS, 2026, 11, 30, 9), local(AMS, 2026, 12, 7, 9))
    assert [s for s in week if s.person == C] == [
        Shift(C, local(AMS, 2026, 11, 30, 9).astimezone(UTC), local(AMS, 2026, 12, 3, 9).astimezone(UTC)),
        Shift(C, local(AMS, 2026, 12, 3, 18).astimezone(UTC), local(AMS, 2026, 12, 7, 9).astimezone(UTC)),
    ]


def test_shifts_are_clipped_to_the_window_and_sorted() -> None:
    spec = one_layer((A, B), timedelta(days=1), datetime(2026, 11, 30, 9, 0))
    provider = RotationProvider(spec, AMS)
    shifts = provider.shifts("t", local(AMS, 2026, 12, 1, 12), local(AMS, 2026, 12, 2, 12))
    assert [(s.person, s.start, s.end) for s in shifts] == [
        (B, local(AMS, 2026, 12, 1, 12).astimezone(UTC), local(AMS, 2026, 12, 2, 9).astimezone(UTC)),
        (A, local(AMS, 2026, 12, 2, 9).astimezone(UTC), local(AMS, 2026, 12, 2, 12).astimezone(UTC)),
    ]
    assert provider.shifts("t", local(AMS, 2026, 12, 2), local(AMS, 2026, 12, 1)) == []
    assert provider.can_page is False
