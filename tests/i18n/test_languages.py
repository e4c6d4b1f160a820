"""Choosing a language (team, reader, cross-team) and each language's dates, from CLDR via Babel."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.i18n import translator
from app.i18n.choice import locale_language, reader_language

TOKYO, AMSTERDAM = ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("ja-JP", "ja"),
        ("ja_JP", "ja"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("en-IN", "en"),
        ("fr-FR", None),
        ("zh-CN", None),
        ("", None),
        (None, None),
    ],
)
def test_a_slack_locale_names_a_language_only_when_the_bot_speaks_it(
    locale: str | None, language: str | None
) -> None:
    assert locale_language(locale) == language


def test_a_reader_gets_their_own_language_else_the_fallback() -> None:
    assert reader_language("ja-JP", "en") == "ja"
    assert reader_language("en-US", "ja") == "en"
    assert reader_language("fr-FR", "ja") == "ja"  # the team's language (or the top-level default)
    assert reader_language(None, "en") == "en"  # not fetched yet


@pytest.mark.parametrize(
    ("language", "day_time", "weekday_time"),
    [
        ("en", "Mon 7 Dec 09:00", "Mon 09:00"),
        ("ja", "12月7日(月) 9:00", "12月7日(月) 9:00"),
    ],
)
def test_dates_read_as_each_language_writes_them(language: str, day_time: str, weekday_time: str) -> None:
    local = datetime(2026, 12, 7, 0, 0, tzinfo=UTC).astimezone(TOKYO)
    t = translator(language)
    assert t.day_time(local) == day_time
    assert t.weekday_time(local) == weekday_time


def test_a_moment_is_shown_in_its_own_zone_not_converted_again() -> None:
    local = datetime(2026, 12, 6, 23, 30, tzinfo=UTC).astimezone(AMSTERDAM)  # Mon 00:30 in Amsterdam
    assert translator("en").day_time(local) == "Mon 7 Dec 00:30"
    assert translator("ja").day_time(local) == "12月7日(月) 0:30"


def test_an_unknown_language_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown language 'fr': use one of en, ja"):
        translator("fr")


def test_an_english_only_bot_reads_no_catalog_and_no_babel_until_a_date_is_shown() -> None:
    # `run` must not load a language no team or reader uses (nor Babel's catalog reader at all).
    code = (
        "import sys\n"
        "from app.i18n import translator\n"
        "t = translator('en')\n"
        "assert t('On call now') == 'On call now'\n"
        "assert 'babel' not in sys.modules, sorted(m for m in sys.modules if 'babel' in m)\n"
        "assert t.ngettext('{n} team', '{n} teams', 2) == '2 teams'\n"
        "translator('ja')\n"
        "assert 'babel.messages.pofile' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
