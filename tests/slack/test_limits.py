"""Slack's Block Kit limits: the fitting helpers on exact edges and hostile text, and the validator."""

from __future__ import annotations

import re

import pytest

from app.slack.blocks import escape, teams_line
from app.slack.limits import (
    cap_blocks,
    cap_context,
    context,
    fit_lines,
    fit_names,
    header,
    more_pointer,
    safe_cut,
    section,
    truncate,
    truncate_plain,
)
from app.slack.limits_check import BlockKitLimitError, validate_blocks, validate_message

HOSTILE = ["<!channel>", "a & b", "x<y", "p>q", "<@U0ALICE0001>", "&amp;", "<https://x.example|link>"]
# What a cut may never leave behind: an unclosed <…, or a broken &entity.
BROKEN = re.compile(r"<[^>]*$|&(?!amp;|lt;|gt;)[a-z]*(?![a-z;])")


def assert_whole(text: str, names: list[str]) -> None:
    """Every listed name is one of ``names`` (so none was cut), and no escape or mention is broken."""
    body = re.sub(r" ?… and \d+ more.*$", "", text.removeprefix("Teams: "))
    for shown in body.split(", ") if body else []:
        assert shown in names, f"{shown!r} is not a whole name"
    assert not BROKEN.search(text.replace("…", "")), text


# ---- fit_names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (100, "Teams: alpha, beta, gamma-delta-epsilon"),  # everything fits
        (39, "Teams: alpha, beta, gamma-delta-epsilon"),  # exactly at the edge
        (38, "Teams: alpha, beta … and 1 more"),  # one short: whole names only, and a pointer
        (31, "Teams: alpha, beta … and 1 more"),
        (30, "Teams: alpha … and 2 more"),
        (19, "Teams: … and 3 more"),
    ],
)
def test_fit_names_keeps_whole_names_up_to_the_exact_budget(budget: int, expected: str) -> None:
    fitted = fit_names(["alpha", "beta", "gamma-delta-epsilon"], budget, prefix="Teams: ")
    assert fitted == expected
    assert len(fitted) <= budget


def test_fit_names_never_cuts_a_mention_or_an_escape() -> None:
    names = [escape(n) for n in HOSTILE] + ["<@U0BOB000001>"] * 5
    for budget in range(20, 160):
        fitted = fit_names(names, budget, prefix="Teams: ")
        assert len(fitted) <= budget
        assert_whole(fitted, names)
        assert "<!channel>" not in fitted


def test_fit_names_counts_what_is_beyond_max_items_and_can_fit_lines() -> None:
    lines = [f"• item {i}" for i in range(15)]
    fitted = fit_names(lines, 3000, prefix="*Head*\n", sep="\n", pointer_sep="\n", max_items=10)
    assert fitted.splitlines() == ["*Head*", *lines[:10], "… and 5 more"]


def test_teams_line_at_200_long_names_fits_one_text_and_points_to_the_rest() -> None:
    names = [f"team-{i:03d}-" + "x" * 70 for i in range(200)]
    line = teams_line(names)
    assert len(line) <= 3000
    shown = line.removeprefix("Teams: ").split(" … and ")[0].split(", ")
    assert shown == names[: len(shown)]
    assert line.endswith(f" … and {200 - len(shown)} more (my Home tab lists every team)")


# ---- truncate ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("abcdef", 6, "abcdef"),
        ("abcdef", 5, "abcd…"),
        ("hi <@U0ALICE0001> there", 10, "hi…"),  # never half a mention
        ("x &amp; y", 5, "x…"),  # never half an escape
        ("x &amp; y", 8, "x &amp;…"),
        ("see <https://x.example/a|the thread> now", 20, "see…"),
        ("word another", 10, "word…"),  # a space nearby is a nicer place to cut
    ],
)
def test_truncate_cuts_only_between_tokens(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected
    assert len(truncate(text, limit)) <= limit


def test_safe_cut_never_lands_inside_a_combined_character() -> None:
    text = "e\u0301" * 10  # é as e + combining acute
    assert all(safe_cut(text, n) % 2 == 0 for n in range(20))
    assert truncate_plain("👍🏽" * 100, 150).endswith("👍🏽…")


def test_header_is_cut_at_150_characters() -> None:
    long = "On-call handover: " + "x" * 200
    assert len(header(long)["text"]["text"]) == 150
    assert header("short") == {"type": "header", "text": {"type": "plain_text", "text": "short"}}


def test_section_and_context_never_exceed_3000() -> None:
    text = ", ".join(["<@U0ALICE0001>"] * 400)
    for block in (section(text), context(text)):
        said = block["text"]["text"] if "text" in block else block["elements"][0]["text"]
        assert len(said) <= 3000
        assert said.endswith("<@U0ALICE0001>…")
        validate_blocks([block])


# ---- caps ----------------------------------------------------------------------------------------------


def test_cap_blocks_keeps_limit_blocks_with_a_counted_pointer() -> None:
    blocks = [section(f"line {i}") for i in range(60)]
    capped = cap_blocks(blocks, 50, more_pointer("ask `/oncall <team>`"))
    assert len(capped) == 50
    assert capped[:49] == blocks[:49]
    assert capped[-1] == context("… and 11 more (ask `/oncall <team>`)")
    assert cap_blocks(blocks[:50], 50, "unused") == blocks[:50]


def test_cap_context_keeps_ten_elements() -> None:
    elements = [{"type": "mrkdwn", "text": f"e{i}"} for i in range(12)]
    capped = cap_context(elements)
    assert len(capped) == 10
    assert capped[-1] == {"type": "mrkdwn", "text": "… and 3 more"}
    validate_blocks([{"type": "context", "elements": capped}])


def test_fit_lines_holds_the_block_and_character_budgets() -> None:
    lines = [f"*team-{i:03d}*: " + "y" * 200 for i in range(500)]
    blocks = fit_lines(lines, max_chars=12_000, max_blocks=5, more=lambda left: f"… and {len(left)} more")
    assert len(blocks) <= 5
    shown = sum(b["text"]["text"].count("*team-") for b in blocks[:-1])
    assert blocks[-1] == context(f"… and {500 - shown} more")
    every = fit_lines(lines[:3], max_chars=12_000, max_blocks=1, more=lambda left: "unused")
    assert len(every) == 1  # everything fits: no room is kept for a pointer


# ---- validate_blocks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blocks", "surface", "message"),
    [
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            "message",
            "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 3001}]}],
            "message",
            "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/elements/0/text]",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
            "message",
            "[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "divider"}] * 51,
            "message",
            "[ERROR] no more than 50 items allowed [json-pointer:/blocks]",
        ),
        (
            [{"type": "divider"}] * 101,
            "home",
            "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]",
        ),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}],
            "message",
            "[ERROR] no more than 10 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}],
                }
            ],
            "message",
            "[ERROR] must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}],
            "message",
            "[ERROR] must be more than 0 characters [json-pointer:/blocks/0/text/text]",
        ),
    ],
)
def test_validate_blocks_refuses_what_slack_refuses(blocks: list, surface: str, message: str) -> None:
    with pytest.raises(BlockKitLimitError) as refused:
        validate_blocks(blocks, surface)  # type: ignore[arg-type]
    assert message in refused.value.messages


def test_validate_accepts_the_edges_and_refuses_a_40001_character_text() -> None:
    validate_blocks([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}] * 50)
    validate_blocks([{"type": "divider"}] * 100, "home")
    validate_message("x" * 40_000, None)
    with pytest.raises(BlockKitLimitError, match="json-pointer:/text"):
        validate_message("x" * 40_001, None)
