"""The teams file's [people]: emails and (for JSM) Atlassian account ids map to Slack user ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError
from app.oncall_config import parse_oncall_config
from tests.test_config import GOOD_TEAM

ACCOUNT = "557058:F1A2B3C4-d5e6-4f70-8a9b-0c1d2e3f4a5b"


def people(lines: str) -> dict[str, str]:
    return parse_oncall_config(GOOD_TEAM + "[people]\n" + lines, Path("oncall.toml")).people


def test_account_ids_of_both_shapes_and_emails_are_keys() -> None:
    lines = [f'"{ACCOUNT}" = "U0CAROL0001"', '"5b10a2844c20165700ede21g" = "U0BOB000001"']
    found = people("\n".join([*lines, '"A@B.example" = "U0A0000001"', ""]))
    assert found == {
        ACCOUNT.lower(): "U0CAROL0001",  # matched lowercased, as the pagers' answers are
        "5b10a2844c20165700ede21g": "U0BOB000001",
        "a@b.example": "U0A0000001",
    }


@pytest.mark.parametrize("key", ["carol", "557058:not-a-uuid", "two words@x.example"])
def test_other_keys_are_refused_naming_both_kinds(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        people(f'"{key}" = "U0CAROL0001"\n')
    said = str(caught.value)
    assert "oncall.toml: field 'people'" in said
    assert f"{key!r} is neither an email nor an Atlassian account id (like 557058:f1a2b3c4-…)" in said


def test_the_value_is_still_a_slack_user_id() -> None:
    with pytest.raises(ConfigError, match="which is not a Slack user ID"):
        people(f'"{ACCOUNT}" = "carol"\n')
