"""Dates and times in each language's own way, from CLDR's data (via Babel).

English is CLDR's British English, the format the bot has always shown: ``Mon 7 Dec 09:00`` (day before
month, 24-hour clock). Japanese is CLDR's ``ja``: ``12月7日(月) 9:00``. Callers pass a moment already
converted to the reader's zone; the zone's abbreviation is theirs to add.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from babel import Locale

# CLDR locale of each language; "en" renders like en_GB (see above).
CLDR_LOCALE: Final = {"en": "en_GB", "ja": "ja"}
DAY: Final = "MMMEd"  # CLDR skeletons: month abbreviated, day, weekday abbreviated
TIME: Final = "Hm"  # 24-hour hours and minutes
WEEKDAY_TIME: Final = "EHm"


@cache
def _locale(language: str) -> Locale:
    # Babel (and its CLDR data for one locale) is read on the first date shown, not when the bot starts.
    import babel  # noqa: PLC0415

    from app.i18n import babel_globals  # noqa: PLC0415

    babel_globals.install()  # before Babel unpickles all of its global table for one mapping
    return babel.Locale.parse(CLDR_LOCALE[language])


# What each skeleton shows: its text depends on these fields of the local moment and nothing else (no
# seconds, year or zone), so one text per key serves every moment that shares it.
_SHOWN: Final[dict[str, Callable[[datetime], tuple[int, ...]]]] = {
    DAY: lambda d: (d.year, d.month, d.day),  # the year fixes the weekday
    TIME: lambda d: (d.hour, d.minute),
    WEEKDAY_TIME: lambda d: (d.weekday(), d.hour, d.minute),
}
# An /oncall answer formats hundreds of moments, mostly the same shift boundaries as the last answer's;
# Babel's skeleton matching costs ~50 µs each. Bounded: cleared when full (days run on, times do not).
_formatted: dict[tuple[str, str, tuple[int, ...]], str] = {}
_MAX_FORMATTED: Final = 20_000


def _format(skeleton: str, local: datetime, language: str) -> str:
    key = (skeleton, language, _SHOWN[skeleton](local))
    text = _formatted.get(key)
    if text is None:
        from babel.dates import format_skeleton  # noqa: PLC0415 - imported once, cached by Python

        # tzinfo: the moment's own zone; Babel would otherwise convert a naive value from UTC.
        text = format_skeleton(skeleton, local, tzinfo=local.tzinfo, locale=_locale(language))
        if len(_formatted) >= _MAX_FORMATTED:
            _formatted.clear()
        _formatted[key] = text  # a race only formats a moment twice: the text is the same
    return text


def day(local: datetime, language: str) -> str:
    """``Mon 7 Dec`` / ``12月7日(月)``."""
    return _format(DAY, local, language)


def time(local: datetime, language: str) -> str:
    """``09:00`` / ``9:00``."""
    return _format(TIME, local, language)


def weekday_time(local: datetime, language: str) -> str:
    """``Mon 09:00``; Japanese names the date too (``12月7日(月) 9:00``), as a weekday alone reads oddly."""
    if language == "ja":
        return f"{day(local, language)} {time(local, language)}"
    return _format(WEEKDAY_TIME, local, language)
