"""The language settings of the teams file, and the reader's Slack locale cached with their time zone."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_sdk import WebClient

from app.config import ConfigError
from app.i18n import translator
from app.oncall_config import parse_oncall_config
from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, seed, teams_toml
from app.store.models import SlackUser
from tests.conftest import BotFactory
from tests.slack.test_oncall_command import ALICE, CAROL, eventually

INFRA = """
[[teams]]
name = "infra"
schedule = "infra_schedule"
usergroup = "infra-oncall"
channel = "C0INFRA0001"
language = "ja"
"""


def test_teams_speak_the_files_language_unless_they_set_their_own() -> None:
    english = parse_oncall_config(teams_toml(INFRA), Path("oncall.toml"))
    assert english.language == "en"
    assert [(t.name, t.language) for t in english.teams] == [("data", "en"), ("infra", "ja")]
    japanese = parse_oncall_config(teams_toml(INFRA.replace('"ja"', '"EN"'), language="ja"), Path("x"))
    assert japanese.language == "ja"
    assert [(t.name, t.language) for t in japanese.teams] == [("data", "ja"), ("infra", "en")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            teams_toml(INFRA.replace('"ja"', '"fr"')),
            "oncall.toml: team 'infra', field 'language': unknown language 'fr': use one of 'en', 'ja'",
        ),
        (
            teams_toml(language="ja-JP"),
            "oncall.toml: field 'language': unknown language 'ja-JP': use one of 'en', 'ja'",
        ),
    ],
)
def test_an_unknown_language_is_refused_naming_the_team_and_the_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_oncall_config(text, Path("oncall.toml"))
    assert str(refused.value) == message


def test_the_sandbox_says_a_users_locale_only_when_asked_with_include_locale(sandbox: Sandbox) -> None:
    sandbox.slack.add_user(CAROL, name="carol", tz="Asia/Tokyo", locale="ja-JP")
    client = WebClient(token=sandbox.env()["SLACK_BOT_TOKEN"], base_url=sandbox.env()["SLACK_API_URL"])
    assert client.users_info(user=CAROL, include_locale=True)["user"]["locale"] == "ja-JP"
    assert "locale" not in client.users_info(user=CAROL)["user"]


def test_after_answering_the_bot_caches_the_askers_locale_with_their_zone(
    sandbox: Sandbox, make_bot: BotFactory
) -> None:
    seed(sandbox, utc_now(), language="ja")
    sandbox.slack.set_user(ALICE, locale="en-GB")  # a Japanese team, one member reads Slack in English
    bot = make_bot(teams_toml())
    for user in (ALICE, CAROL):
        envelope = sandbox.slack.socket.push_command("", user_id=user, channel_id=CHANNEL)
        sandbox.slack.socket.wait_for_ack(envelope, timeout=3)

    def cached() -> dict[str, tuple[str | None, str | None]]:
        with bot.runtime.sessions.begin() as session:
            rows = session.query(SlackUser).all()
            return {row.user_id: (row.tz, row.locale) for row in rows} if len(rows) == 2 else {}

    assert eventually(cached) == {ALICE: ("Europe/Amsterdam", "en-GB"), CAROL: ("Asia/Tokyo", "ja-JP")}
    asked = [r.params for r in sandbox.slack.requests() if r.method == "users.info"]
    assert all(params.get("include_locale") in ("1", "true", True) for params in asked)


def test_a_readers_language_is_read_after_the_ack_that_learns_it_not_in_their_next_answer(
    sandbox: Sandbox, make_bot: BotFactory
) -> None:
    seed(sandbox, utc_now())  # an English team: nothing Japanese is read at the bot's start
    sandbox.slack.set_user(CAROL, locale="ja-JP")
    bot = make_bot(teams_toml())
    translator.cache_clear()
    envelope = sandbox.slack.socket.push_command("me", user_id=CAROL, channel_id=CHANNEL)
    sandbox.slack.socket.wait_for_ack(envelope, timeout=3)

    def locale_cached() -> bool:
        with bot.runtime.sessions.begin() as session:
            row = session.get(SlackUser, CAROL)
            return row is not None and row.locale == "ja-JP"

    eventually(locale_cached)
    assert bot.runtime.stopping.drain(10) == 0  # the after-ack fetch is done, its warm-up with it
    before = translator.cache_info()
    translator("ja")  # what carol's next answer asks for: already read
    assert translator.cache_info().hits == before.hits + 1
