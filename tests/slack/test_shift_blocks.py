"""The shift messages' pure renderers, on exact output."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.slack import shift_blocks

ZONE = "Europe/Amsterdam"
NOW = datetime(2026, 4, 6, 7, 0, tzinfo=UTC)  # Monday 09:00 in Amsterdam


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (timedelta(seconds=10), "1 min"),
        (timedelta(minutes=45), "45 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=1, minutes=30, seconds=1), "1 h 31 min"),
    ],
)
def test_duration(delta: timedelta, shown: str) -> None:
    assert shift_blocks.duration(delta) == shown


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        (NOW + timedelta(hours=12), "21:00"),
        (NOW + timedelta(days=1), "Tue 09:00"),
        (NOW + timedelta(days=7), "Mon 13 Apr 09:00"),
    ],
)
def test_moment(at: datetime, shown: str) -> None:
    assert shift_blocks.moment(at, ZONE, NOW) == shown


def test_reminder_with_and_without_a_known_end() -> None:
    start = NOW + timedelta(hours=1)
    message = shift_blocks.reminder("data", ZONE, start, start + timedelta(days=1), NOW)
    assert (
        message["text"]
        == "Your data shift starts at 10:00 (in 1 h) and runs to Tue 10:00 (Europe/Amsterdam)."
    )
    assert message["blocks"][0]["text"]["text"].startswith("Your *data* shift starts at 10:00")
    open_ended = shift_blocks.reminder("data", ZONE, start, None, NOW)
    assert open_ended["text"] == "Your data shift starts at 10:00 (in 1 h) (Europe/Amsterdam)."
