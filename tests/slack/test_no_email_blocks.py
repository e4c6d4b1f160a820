"""Renderers for a person the pager names by Atlassian account id (JSM hides the email): the exact fix."""

from __future__ import annotations

from datetime import UTC, datetime

from app.model.person import Person
from app.slack.blocks import message_text
from app.slack.notice_text import unmapped_person
from app.slack.person_notices import identity_notice
from app.slack.words import person

ACCOUNT = "557058:f1a2b3c4-d5e6-4f70-8a9b-0c1d2e3f4a5b"


def test_the_day_ahead_notice_gives_the_people_line_to_add() -> None:
    shift = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    text = message_text(
        identity_notice("data", "Europe/Amsterdam", shift, [Person(ACCOUNT, status="no_email")])
    )
    assert (
        f"• {ACCOUNT}: the pager shows no email for this account (hidden in its Atlassian profile). "
        f'Fix: add `"{ACCOUNT}" = "U…"` (their Slack member ID) under `[people]` in the bot\'s config.'
    ) in text


def test_the_once_per_shift_notice_gives_the_people_line_to_add() -> None:
    text = unmapped_person("data", ACCOUNT, "has no email the pager shows")
    assert text == (
        f":warning: *data*: {ACCOUNT} is on call but has no email the pager shows, so they are not in the "
        f'user group. Fix it by adding `"{ACCOUNT}" = "U…"` (their Slack member ID) under `[people]` in the '
        "teams file."
    )
    by_email = unmapped_person("data", "dave@corp.example", "has no Slack account with that email")
    assert "(pager email → Slack user ID)" in by_email


def test_oncall_shows_the_account_id_and_why() -> None:
    assert (
        person(Person(ACCOUNT, status="no_email"))
        == f"{ACCOUNT} (email hidden in the pager: map the id under [people])"
    )
