"""The escalation thread renderers: exact output for 0/1/several/unmapped people and hostile text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.model.person import Person
from app.slack import escalation_blocks as render
from app.slack import mention_blocks, page_blocks

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOSTILE = "<!channel> <!here> <!everyone> <@U0EVIL0001> & <b>"


def texts(payload: dict[str, Any]) -> list[str]:
    """Every mrkdwn string of a payload: the fallback and each block's text."""
    found = [payload["text"]]
    for block in payload["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found.extend(element["text"] for element in block.get("elements", []))
    return found


def assert_no_mass_mention(payload: dict[str, Any]) -> None:
    raw = json.dumps(payload)
    for token in ("<!channel", "<!here", "<!everyone", "<@U0EVIL"):
        assert token not in raw


@pytest.mark.parametrize(
    ("people", "expected"),
    [
        ([], "nobody"),
        ([Person("bob@corp.example", "U0BOB000001", status="ok")], "<@U0BOB000001>"),
        (
            [
                Person("bob@corp.example", "U0BOB000001", status="ok"),
                Person("carol@corp.example", "U0CAROL0001", status="ok"),
            ],
            "<@U0BOB000001> and <@U0CAROL0001>",
        ),
        (
            [
                Person("a@x.example", "U0A0000001", status="ok"),
                Person("b@x.example", "U0B0000001", status="ok"),
                Person("c@x.example", status="not_found"),
            ],
            "<@U0A0000001>, <@U0B0000001> and c@x.example (no active Slack account, so not pinged)",
        ),
        (
            [Person("<!channel>&x@evil.example", status="not_found")],
            "&lt;!channel&gt;&amp;x@evil.example (no active Slack account, so not pinged)",
        ),
        # A corrupted id is shown, escaped, never used as a mention.
        ([Person("x@x.example", "<!here>", status="ok")], "&lt;!here&gt;"),
    ],
)
def test_people_text(people: list[Person], expected: str) -> None:
    assert render.people_text(people) == expected


def test_tag_only_reply_names_on_call_team_and_next_step() -> None:
    reply = render.escalation_reply(
        "data",
        [Person("bob@corp.example", "U0BOB000001", status="ok")],
        reporter="U0ALICE0001",
        outcome="tag",
        pager="Opsgenie",
        priority="P3",
        as_of=NOW - timedelta(minutes=4),
        now=NOW,
    )
    assert reply == {
        "text": "<@U0BOB000001> is on call for data. This team does not page from Slack.",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":rotating_light: <@U0BOB000001> — <@U0ALICE0001> needs the *data* on-call "
                    "person in this thread.",
                },
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*What happens next:* the on-call person picks this up in this thread. "
                    "The *data* team does not page from Slack, "
                    "so if nobody answers and it cannot wait, call them.",
                },
            },
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "On call for data according to Opsgenie, checked 4 min ago."}
                ],
            },
        ],
    }


def test_page_reply_says_pending_with_priority() -> None:
    reply = render.escalation_reply(
        "data",
        [
            Person("bob@corp.example", "U0BOB000001", status="ok"),
            Person("carol@corp.example", "U0CAROL0001", status="ok"),
        ],
        reporter="U0ALICE0001",
        outcome="page",
        pager="Opsgenie",
        priority="P1",
        as_of=NOW,
        now=NOW,
    )
    assert reply["text"] == (
        "<@U0BOB000001> and <@U0CAROL0001> are on call for data. Paging through Opsgenie (pending)."
    )
    assert texts(reply)[2] == (
        "*What happens next:* I am paging the *data* schedule in Opsgenie (P1). The page is pending; "
        "I will confirm in this thread once the alert exists."
    )


def test_limited_reply_says_why_it_did_not_page() -> None:
    reply = render.escalation_reply(
        "data",
        [Person("bob@corp.example", "U0BOB000001", status="ok")],
        reporter="U0ALICE0001",
        outcome="limited",
        pager="Opsgenie",
        priority="P3",
        as_of=None,
        now=NOW,
        limit=3,
    )
    assert reply["text"] == "<@U0BOB000001> is on call for data. Not paged: page limit per hour reached."
    assert texts(reply)[2] == (
        "*Not paged:* you have reached the limit of 3 pages per person per hour. The on-call people are "
        "tagged here; if it is urgent, page them from Opsgenie directly."
    )
    assert len(reply["blocks"]) == 2  # no freshness line without a time


def test_no_data_yet_reply_tags_nobody() -> None:
    reply = render.escalation_reply(
        "data",
        None,
        reporter="U0ALICE0001",
        outcome="tag",
        pager="Opsgenie",
        priority="P3",
        as_of=None,
        now=NOW,
    )
    assert reply["text"] == "No on-call data yet for data. This team does not page from Slack."
    assert texts(reply)[1:] == [
        "<@U0ALICE0001> needs the *data* on-call person, but I do not know yet who that is: Opsgenie has "
        "not told me about this team since I started.",
        "*Nobody was tagged.* Reach the *data* team directly if this cannot wait.",
    ]


def test_no_data_yet_but_paging_still_pages_the_schedule() -> None:
    reply = render.escalation_reply(
        "data",
        None,
        reporter="U0ALICE0001",
        outcome="page",
        pager="Opsgenie",
        priority="P2",
        as_of=None,
        now=NOW,
    )
    assert "I am paging the *data* schedule in Opsgenie (P2)" in texts(reply)[2]


def test_nobody_on_call_says_so() -> None:
    reply = render.escalation_reply(
        "data", [], reporter="U0ALICE0001", outcome="tag", pager="Opsgenie", priority="P3", as_of=NOW, now=NOW
    )
    assert (
        texts(reply)[1]
        == "<@U0ALICE0001> needs the *data* on-call person, but Opsgenie lists nobody on call right now."
    )


def test_hostile_values_are_escaped_everywhere() -> None:
    reply = render.escalation_reply(
        "d&ta<x>",
        [Person(HOSTILE, status="not_found"), Person("x@y.example", "<!channel>", status="ok")],
        reporter="<!everyone>",
        outcome="page",
        pager="Opsgenie",
        priority="<!here>",
        as_of=NOW,
        now=NOW,
    )
    assert_no_mass_mention(reply)
    assert "d&amp;ta&lt;x&gt;" in texts(reply)[1]
    for payload in (
        page_blocks.page_failed(f"Opsgenie said {HOSTILE} @here", pager="Opsgenie"),
        page_blocks.page_confirmed("<!channel>", pager="Opsgenie"),
        mention_blocks.unknown_team("<!here>", ["<!channel>"]),
        mention_blocks.usage(["<!channel>", "data"]),
    ):
        assert_no_mass_mention(payload)


def test_page_confirmed_names_the_alert() -> None:
    assert page_blocks.page_confirmed("7d3c-1234", pager="Opsgenie") == {
        "text": "Paged: Opsgenie alert 7d3c-1234 created; the on-call people are being notified.",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":white_check_mark: Paged: Opsgenie alert `7d3c-1234` created.",
                },
            }
        ],
    }


def test_page_failed_gives_the_reason() -> None:
    failed = page_blocks.page_failed("Opsgenie denied the API key access (HTTP 403)", pager="Opsgenie")
    assert failed["text"] == "Could not page through Opsgenie: Opsgenie denied the API key access (HTTP 403)"
    assert texts(failed)[2] == "The on-call people are tagged above; reach them directly."


def test_usage_shows_an_example_and_the_teams() -> None:
    usage = mention_blocks.usage(["data", "infra"])
    assert usage["text"] == (
        "How to escalate: mention me with what is wrong, e.g. "
        "@oncall-bot the revenue dashboard is empty since 9:00"
    )
    assert texts(usage)[1] == (
        "*Escalate to the person on call:* mention me with what is wrong, in the team's channel:\n"
        "`@oncall-bot the revenue dashboard is empty since 9:00`\n"
        "Elsewhere, start with the team: `@oncall-bot data: the nightly load failed`. "
        "Add `P1`…`P5` to set the page's priority."
    )
    assert texts(usage)[2] == "Teams: data, infra"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        (None, "I cannot tell which team this is for."),
        ("sales", "I know no team called `sales`."),
    ],
)
def test_unknown_team(word: str | None, expected: str) -> None:
    reply = mention_blocks.unknown_team(word, ["data", "infra"])
    assert texts(reply)[1] == (
        f"{expected} Start with the team's name, e.g. `@oncall-bot data: the nightly load failed`."
    )
    assert texts(reply)[2] == "Teams: data, infra"
    assert "`" not in reply["text"]
