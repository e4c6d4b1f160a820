"""The shift messages' pure renderers, on exact output."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.model.messages import ShiftChange, ShiftDigest, TeamShift
from app.model.person import Person
from app.slack import shift_blocks
from app.slack.blocks import message_text

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


def _change(start: datetime, end: datetime | None, before: list[Person], after: list[Person]) -> ShiftChange:
    return ShiftChange(TeamShift("data", ZONE, start), end, tuple(before), tuple(after))


ALICE = Person("alice@corp.example", "U0ALICE0001", "alice", "ok")
BOB = Person("bob@corp.example", "U0BOB000001", "<!channel> bob & co", "ok")
ERIN = Person("erin@corp.example", status="not_found")


def test_digest_pings_only_who_takes_a_shift_over() -> None:
    changes = (
        _change(NOW, NOW + timedelta(hours=12), [ALICE], [BOB]),
        _change(NOW + timedelta(days=1), NOW + timedelta(days=2), [BOB], [BOB, ERIN]),
        _change(NOW + timedelta(days=3), None, [], [ALICE]),
    )
    message = shift_blocks.digest(ShiftDigest("data", ZONE, changes))
    assert message_text(message).splitlines() == [
        "*Shift changes for data* (Europe/Amsterdam), the coming week:",
        "• Mon 6 Apr 09:00\u201321:00: alice \u2192 <@U0BOB000001>",
        "• Tue 7 Apr 09:00\u2013Wed 8 Apr 09:00: &lt;!channel&gt; bob &amp; co \u2192 "
        "&lt;!channel&gt; bob &amp; co, erin@corp.example",
        "• from Thu 9 Apr 09:00 on: nobody \u2192 <@U0ALICE0001>",
    ]
    assert "<@" not in message["text"]
    assert "<!" not in message["text"]


def test_a_long_digest_stays_within_one_section() -> None:
    changes = tuple(
        _change(NOW + timedelta(hours=i), NOW + timedelta(hours=i + 1), [ALICE], [BOB]) for i in range(300)
    )
    message = shift_blocks.digest(ShiftDigest("data", ZONE, changes))
    [block] = message["blocks"]
    assert len(block["text"]["text"]) <= 3000
    assert block["text"]["text"].endswith("more: /oncall week shows them all")
    assert message["text"].endswith("; and 297 more")
