"""The Japanese catalog is complete for the code, and the check catches what would break a message."""

from __future__ import annotations

import re

from babel.messages.catalog import Catalog

from app.i18n.catalog import load_translations, read_catalog
from app.i18n.extract import APP, catalog_problems, problems, template


def test_every_message_id_in_the_code_has_a_reviewed_japanese_translation_with_its_placeholders() -> None:
    assert problems("ja") == []


def test_the_catalog_compiles_and_gives_back_every_reviewed_translation() -> None:
    compiled = load_translations("ja")
    entries = [entry for entry in read_catalog("ja") if entry.id]
    for entry in entries:
        if isinstance(entry.id, tuple):
            assert compiled.ngettext(entry.id[0], entry.id[1], 5) == entry.string[0]
        else:
            assert compiled.gettext(entry.id) == entry.string
    assert len(entries) == len(template())


def _code(*ids: str | tuple[str, str]) -> Catalog:
    code = Catalog(locale="en")
    for message_id in ids:
        code.add(message_id)
    return code


def _ja(*entries: tuple[str | tuple[str, str], str | tuple[str, ...]], fuzzy: bool = False) -> Catalog:
    catalog = Catalog(locale="ja")
    for message_id, text in entries:
        catalog.add(message_id, text, flags=("fuzzy",) if fuzzy else ())
    return catalog


def test_a_missing_or_empty_translation_is_a_problem() -> None:
    found = catalog_problems(_ja(("Nobody", "")), _code("Nobody", "On call now"))
    assert found == ["'Nobody': not translated", "'On call now': missing (run python -m app.i18n.extract)"]


def test_a_fuzzy_translation_is_a_problem_until_reviewed() -> None:
    found = catalog_problems(_ja(("On call now", "現在の当番"), fuzzy=True), _code("On call now"))
    assert found == ["'On call now': marked fuzzy (review the translation, then remove the fuzzy flag)"]


def test_a_placeholder_lost_renamed_or_added_is_a_problem() -> None:
    code = _code("Until {when}", "{team}: {people}", "Now")
    ja = _ja(("Until {when}", "{time}まで"), ("{team}: {people}", "{team}"), ("Now", "現在 {team}"))
    assert catalog_problems(ja, code) == [
        "'Until {when}': placeholders ['time'] differ from the id's ['when']",
        "'{team}: {people}': placeholders ['team'] differ from the id's ['people', 'team']",
        "'Now': placeholders ['team'] differ from the id's []",
    ]


def test_a_plural_translation_must_say_the_count_in_its_only_form() -> None:
    code = _code(("{n} more team", "{n} more teams"))
    assert catalog_problems(_ja((("{n} more team", "{n} more teams"), ("他 {n} チーム",))), code) == []
    assert catalog_problems(_ja((("{n} more team", "{n} more teams"), ("他のチーム",))), code) == [
        "'{n} more team': placeholders [] differ from the id's ['n']"
    ]


def test_slash_commands_and_emoji_stay_as_they_are() -> None:
    code = _code("Ask `/oncall week <team>`.", ":warning: stale")
    ja = _ja(
        ("Ask `/oncall week <team>`.", "`/oncall 週 <チーム>` を使ってください。"),
        (":warning: stale", "古い"),
    )
    assert catalog_problems(ja, code) == [
        "'Ask `/oncall week <team>`.': a /oncall command must stay as it is: ['/oncall week <team>']",
        "':warning: stale': emoji codes must stay as they are: [':warning:']",
    ]


def test_an_id_the_code_no_longer_uses_is_a_problem() -> None:
    assert catalog_problems(_ja(("Gone", "消えた")), _code()) == [
        "'Gone': no longer used by the code (run python -m app.i18n.extract)"
    ]


def test_bold_italic_and_code_must_stand_apart_from_japanese_words() -> None:
    code = _code("*Shift:* {window}", "Ask `/oncall me`.", ":white_check_mark: Paged: {alert}")
    ja = _ja(
        ("*Shift:* {window}", "これは*シフト:*です {window}"),
        ("Ask `/oncall me`.", "`/oncall me` で確認してください。"),
        (":white_check_mark: Paged: {alert}", ":white_check_mark: 呼び出しました: {alert}"),
    )
    assert catalog_problems(ja, code) == [
        "'*Shift:* {window}': Slack will not format ['*シフト:*']: "
        "put a space between the marks and the words"
    ]


def test_no_message_is_translated_inside_an_f_string_where_extraction_cannot_see_it() -> None:
    # f"…{t('Open the thread')}…" renders, but the extractor never finds the id: it would stay English.
    hidden = re.compile(r"""\{\s*t(\.ngettext)?\(\s*['"]""")
    found = [
        f"{path.relative_to(APP.parent)}:{number}"
        for path in sorted(APP.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if hidden.search(line)
    ]
    assert found == []
