"""The handover renderers, tested on their exact output: post, DM and the pre-handover notices."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.model.handover import EscalationView, HandoverView, UsergroupView
from app.model.person import Person
from app.slack.blocks import message_text
from app.slack.handover_blocks import OPEN_LISTED, handover_message, incoming_dm
from app.slack.person_notices import DASH, identity_notice, shift_change_notice

ZONE = "Europe/Amsterdam"
START = datetime(2026, 4, 6, 7, 0, tzinfo=UTC)  # Monday 6 April 09:00 CEST
END = START + timedelta(days=7)
ALICE = Person("alice@corp.example", "U0ALICE0001", status="ok")
BOB = Person("bob@corp.example", "U0BOB000001", status="ok")
ERIN = Person("erin@corp.example", status="not_found")
WINDOW = f"Mon 6 Apr 09:00 {DASH} Mon 13 Apr 09:00 (Europe/Amsterdam)"
SPAN = "from Mon 6 Apr 09:00 to Mon 13 Apr 09:00 (Europe/Amsterdam)"
LINK = "https://sandbox.slack.com/archives/C0DATA00001/p1775134000000100"

BASE = HandoverView(
    team="data",
    zone=ZONE,
    start=START,
    end=END,
    outgoing=(ALICE,),
    incoming=(BOB,),
    usergroup=UsergroupView("data-oncall", "updated", START + timedelta(minutes=1), ("U0BOB000001",)),
    last_success_at=START,
)


def escalation(hours: float, text: str, *, open_: bool, permalink: str | None = LINK) -> EscalationView:
    """An escalation made ``hours`` after Thursday 2 April 09:00 UTC."""
    at = datetime(2026, 4, 2, 9, 0, tzinfo=UTC) + timedelta(hours=hours)
    return EscalationView(at, "C0DATA00001", "1775134000.000100", "U0DAVE00001", text, open_, permalink)


HEAD = f"On-call handover: data\n<@U0ALICE0001> → <@U0BOB000001>\n*Shift:* {WINDOW}"
GROUP = "*Usergroup:* @data-oncall → <@U0BOB000001> (checked Mon 6 Apr 09:01)"


def test_the_post_without_escalations_exact_blocks() -> None:
    assert handover_message(BASE) == {
        "text": f"On-call handover for data: <@U0ALICE0001> → <@U0BOB000001>, {WINDOW}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "On-call handover: data"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"<@U0ALICE0001> → <@U0BOB000001>\n*Shift:* {WINDOW}"},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Escalations last shift:* none"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": GROUP}},
        ],
    }


CASES = {
    "several, all resolved": (
        replace(BASE, escalations=tuple(escalation(h, "db slow", open_=False) for h in (0, 5, 30))),
        f"{HEAD}\n*Escalations last shift:* 3 (0 still open)\n{GROUP}",
    ),
    "open ones, with and without a permalink, hostile text escaped": (
        replace(
            BASE,
            escalations=(
                escalation(0, "fixed already", open_=False),
                escalation(4.25, "<!channel> revenue & <@U0X> dashboard is <empty>", open_=True),
                escalation(28, "  pipeline\n  stuck  ", open_=True, permalink=None),
            ),
        ),
        f"{HEAD}\n*Escalations last shift:* 3 (2 still open)\n"
        f"• <{LINK}|Thu 2 Apr 15:15> from <@U0DAVE00001>: "
        "“&lt;!channel&gt; revenue &amp; &lt;@U0X&gt; dashboard is &lt;empty&gt;”\n"
        "• Fri 3 Apr 15:00 in <#C0DATA00001> (thread 1775134000.000100) from <@U0DAVE00001>: “pipeline stuck”"
        f"\n{GROUP}",
    ),
    "long escalation text is cut": (
        replace(BASE, escalations=(escalation(0, "x" * 100, open_=True),)),
        f"{HEAD}\n*Escalations last shift:* 1 (1 still open)\n"
        f"• <{LINK}|Thu 2 Apr 11:00> from <@U0DAVE00001>: “{'x' * 80}…”\n{GROUP}",
    ),
    "unmapped incoming person": (
        replace(BASE, incoming=(ERIN,), usergroup=replace(BASE.usergroup, members=("U0ALICE0001",))),
        f"On-call handover: data\n<@U0ALICE0001> → erin@corp.example\n*Shift:* {WINDOW}\n"
        "*Escalations last shift:* none\n"
        "*Usergroup:* @data-oncall → <@U0ALICE0001> (checked Mon 6 Apr 09:01)\n"
        "*Needs attention*\n• erin@corp.example: no Slack user has this email; map it under `[people]` "
        "in the bot's config or fix the email in the pager",
    ),
    "stale data with the pager's error": (
        replace(BASE, stale=True, last_success_at=START - timedelta(hours=3), last_error="HTTP 503 <bad>"),
        f"{HEAD}\n*Escalations last shift:* none\n{GROUP}\n*Needs attention*\n"
        "• The pager was last read Mon 6 Apr 06:00 (HTTP 503 &lt;bad&gt;): who is on call may be out of date",
    ),
    "never read, nobody incoming, never synced": (
        replace(BASE, incoming=(), stale=True, last_success_at=None, usergroup=UsergroupView("data-oncall")),
        f"On-call handover: data\n<@U0ALICE0001> → nobody\n*Shift:* {WINDOW}\n"
        "*Escalations last shift:* none\n*Usergroup:* @data-oncall has not been synced yet\n"
        "*Needs attention*\n"
        "• Nobody is on call in the new shift: check the schedule in the pager\n"
        "• The pager has not been read yet: who is on call may be out of date",
    ),
    "late, pager changes at another time, failed sync": (
        replace(
            BASE,
            late=True,
            pager_change=START + timedelta(hours=1),
            usergroup=UsergroupView("S0DATA00001", "failed", START, (), "permission_denied <x>"),
        ),
        f"{HEAD}\nThe pager changes shift at Mon 6 Apr 10:00, not at the handover time Mon 6 Apr 09:00.\n"
        "Posted late: I was not running at Mon 6 Apr 09:00.\n*Escalations last shift:* none\n"
        "*Usergroup:* S0DATA00001: the last sync failed (Mon 6 Apr 09:00): permission_denied &lt;x&gt;",
    ),
    "the usergroup still holds the outgoing person": (
        replace(BASE, usergroup=replace(BASE.usergroup, members=("U0ALICE0001",))),
        f"{HEAD}\n*Escalations last shift:* none\n*Usergroup:* @data-oncall → <@U0ALICE0001> "
        "(checked Mon 6 Apr 09:01); it moves to the new shift at the next refresh",
    ),
    "the same person stays": (
        replace(BASE, outgoing=(BOB,)),
        f"On-call handover: data\n<@U0BOB000001> stays on call\n*Shift:* {WINDOW}\n"
        f"*Escalations last shift:* none\n{GROUP}",
    ),
    "two incoming, one a guest": (
        replace(BASE, incoming=(BOB, Person("guest@partner.example", "U0GUEST0001", status="guest"))),
        f"On-call handover: data\n<@U0ALICE0001> → <@U0BOB000001>, guest@partner.example\n*Shift:* {WINDOW}\n"
        f"*Escalations last shift:* none\n{GROUP}\n*Needs attention*\n"
        "• guest@partner.example: the Slack account is a guest, and guests cannot be in a user group; "
        "map it under `[people]` in the bot's config or fix the email in the pager",
    ),
}


@pytest.mark.parametrize(("view", "expected"), list(CASES.values()), ids=list(CASES))
def test_the_post_content(view: HandoverView, expected: str) -> None:
    assert message_text(handover_message(view)) == expected


def test_many_open_escalations_are_counted_beyond_the_list() -> None:
    items = tuple(escalation(h, f"issue {h}", open_=True) for h in range(OPEN_LISTED + 3))
    text = message_text(handover_message(replace(BASE, escalations=items)))
    assert f"*Escalations last shift:* {OPEN_LISTED + 3} ({OPEN_LISTED + 3} still open)" in text
    assert text.count("• <") == OPEN_LISTED
    assert "…and 3 more open" in text


def test_the_fallback_text_never_pings_the_channel() -> None:
    hostile = replace(BASE, incoming=(Person("<!here>@x.example", status="not_found"),))
    message = handover_message(hostile)
    assert "<!here>" not in message["text"]
    assert "<!here>" not in message_text(message)


def test_the_dm_lists_what_is_open() -> None:
    view = replace(
        BASE, escalations=(escalation(0, "done", open_=False), escalation(1, "api <down>", open_=True))
    )
    assert incoming_dm(view) == {
        "text": f"You are on call for data {SPAN}. Still open: 1.",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"You are on call for *data* {SPAN}."},
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Still open from the last shift:*\n"
                    f"• <{LINK}|Thu 2 Apr 12:00> from <@U0DAVE00001>: “api &lt;down&gt;”",
                },
            },
        ],
    }


def test_the_dm_with_nothing_open() -> None:
    assert message_text(incoming_dm(BASE)) == (
        f"You are on call for *data* {SPAN}.\nNothing is open from the last shift."
    )


def test_identity_notice_says_whom_to_fix_and_how() -> None:
    problems = [ERIN, Person("bob@corp.example", "U0BOB000001", status="deleted")]
    message = identity_notice("data", ZONE, START, problems)
    assert message["text"] == "Heads-up: the incoming on-call person of data cannot be reached in Slack"
    assert message_text(message) == (
        "Heads-up for the *data* handover on Mon 6 Apr 09:00 (Europe/Amsterdam): "
        "I cannot reach the incoming on-call person in Slack.\n"
        '• erin@corp.example: no Slack user has this email. Fix: add `"erin@corp.example" = "U…"` under '
        "`[people]` in the bot's config, or change the email in the pager to the one Slack knows.\n"
        "• bob@corp.example: the Slack account is deactivated. Fix: put an active member's Slack ID under "
        "`[people]` in the bot's config, or change the shift in the pager."
    )


def test_shift_change_notice() -> None:
    tuesday = datetime(2026, 4, 7, 7, 0, tzinfo=UTC)
    message = shift_change_notice("data", ZONE, tuesday, tuesday + timedelta(days=1), [ALICE], [BOB])
    line = f"Tue 7 Apr 09:00{DASH}Wed 8 Apr 09:00 is now <@U0BOB000001>, was <@U0ALICE0001>"
    assert message == {
        "text": f"Shift change for data: {line}.",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Shift change for data* (Europe/Amsterdam): {line}."},
            }
        ],
    }


def test_open_ended_shift_change_to_an_unmapped_person() -> None:
    tuesday = datetime(2026, 4, 7, 7, 0, tzinfo=UTC)
    message = shift_change_notice("data", ZONE, tuesday, None, [ALICE], [ERIN])
    assert message["text"] == (
        "Shift change for data: From Tue 7 Apr 09:00 on, it is now erin@corp.example, was <@U0ALICE0001>."
    )
