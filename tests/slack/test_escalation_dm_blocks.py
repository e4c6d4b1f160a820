"""The pure renderers of a pager-less escalation: the direct message and the thread's outcome."""

from __future__ import annotations

from app.slack.escalation_dm_blocks import dms_failed, dms_sent, escalation_dm


def texts(message: dict[str, object]) -> list[str]:
    found = []
    for block in message["blocks"]:  # type: ignore[attr-defined]
        if "text" in block:
            found.append(block["text"]["text"])
        found += [element["text"] for element in block.get("elements", [])]
    return found


def test_the_dm_quotes_the_text_escaped_and_links_the_thread() -> None:
    message = escalation_dm(
        "d<a>ta", "U0ALICE0001", "a & b <@U0X>\nsecond line", priority="P2", channel="C0DATA00001",
        permalink="https://acme.slack.com/archives/C0DATA00001/p1?a=1&b=<2>|x",
    )  # fmt: skip
    assert texts(message) == [
        ":rotating_light: <@U0ALICE0001> needs the *d&lt;a&gt;ta* on-call person (P2) in <#C0DATA00001>:",
        "> a &amp; b &lt;@U0X&gt; second line",
        "<https://acme.slack.com/archives/C0DATA00001/p1?a=1&amp;b=%3C2%3E%7Cx|Open the thread>",
        "You are on call for d&lt;a&gt;ta; the team has no pager, so I message you directly.",
    ]
    assert message["text"] == "Escalation for d<a>ta (P2): a & b <@U0X> second line"


def test_the_dm_without_a_permalink_says_where_to_look() -> None:
    message = escalation_dm("data", "U0ALICE0001", "", priority="P3", channel="C1", permalink=None)
    assert texts(message)[1:3] == ["> ", "Slack gave no link to the message: it is in the team's channel."]


def test_outcomes_name_who_was_reached_and_escape_the_reasons() -> None:
    one = dms_sent(["U0CAROL0001"], None)
    assert texts(one) == [
        ":incoming_envelope: No pager to call: I sent <@U0CAROL0001> a direct message with this message "
        "and a link to this thread."
    ]
    three = dms_sent(["U1AAAAAAA", "U2AAAAAAA", "U3AAAAAAA"], "x@y.example (<no> account)")
    assert "<@U1AAAAAAA>, <@U2AAAAAAA> and <@U3AAAAAAA>" in three["text"]
    assert texts(three)[1] == "Not reached directly: x@y.example (&lt;no&gt; account)"
    assert texts(dms_failed("nobody <@U1> is on call"))[0] == (
        ":warning: No pager to call, and I could not message the on-call people directly: "
        "nobody &lt;@U1&gt; is on call"
    )
