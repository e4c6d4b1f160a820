"""Messages in the reader's language: English (the message ids themselves) and Japanese (app/locale/).

Renderers receive a ``Translator`` and write ``t("On call for {team} now", team=name)``; the message id is
the English text with ``{name}`` placeholders, filled in after translation. ``python -m app.i18n.extract``
brings the catalogs up to date with the code; tests/i18n checks that every id has a translation.
A language's catalog is read the first time it is needed, so a bot whose teams all speak English never
reads the Japanese one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Final, Literal, TypeGuard

from app.i18n.translator import Translator

Language = Literal["en", "ja"]
LANGUAGES: Final[tuple[Language, ...]] = ("en", "ja")
DEFAULT_LANGUAGE: Final[Language] = "en"
# The language the message ids are written in: it needs no catalog.
SOURCE_LANGUAGE: Final[Language] = "en"

__all__ = [
    "DEFAULT_LANGUAGE",
    "EN",
    "LANGUAGES",
    "N_",
    "Language",
    "Translator",
    "is_language",
    "translator",
    "warm",
]


def is_language(value: object) -> TypeGuard[Language]:
    """True when ``value`` names a language the bot speaks."""
    return value in LANGUAGES


def N_(message: str) -> str:  # the gettext name every extraction tool knows
    """Mark ``message`` for extraction without translating it yet (for tables built at import time)."""
    return message


@cache
def translator(language: str) -> Translator:
    """The translator for ``language`` ("en" or "ja"), its catalog read once on first use."""
    if not is_language(language):
        raise ValueError(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
    if language == SOURCE_LANGUAGE:
        return Translator(language)
    # Babel's catalog reader is imported only when a catalog is read.
    from app.i18n.catalog import load_translations  # noqa: PLC0415

    return Translator(language, load_translations(language))


# What the renderers speak when no language is given: the admin CLI, and the message ids themselves.
EN: Final = translator(SOURCE_LANGUAGE)


def warm(languages: Iterable[str]) -> None:
    """Read these languages' catalogs and date formats now (the bot's start), not inside a first answer.

    Babel and a catalog take a few hundred milliseconds to load: an ack has 3 seconds. Only the languages
    given are read; another (a reader's own) is read when first needed.
    """
    for language in sorted(set(languages)):
        translator(language).day_time(datetime.now(UTC))
