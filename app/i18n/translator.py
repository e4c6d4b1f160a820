"""One language's messages and date formats, handed to the renderers."""

from __future__ import annotations

import gettext
from datetime import datetime
from typing import Any

from app.i18n import dates


class Translator:
    """Translates message ids and formats moments for one language."""

    def __init__(self, language: str, translations: gettext.NullTranslations | None = None) -> None:
        self.language = language
        self._translations = translations or gettext.NullTranslations()

    def __repr__(self) -> str:
        return f"Translator({self.language!r})"

    def __call__(self, message: str, **values: Any) -> str:
        """``message`` in this language, its ``{placeholders}`` filled from ``values``."""
        text = self._translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        """The form of a message for the count ``n`` (available to the text as ``{n}``)."""
        return self._translations.ngettext(singular, plural, n).format(n=n, **values)

    def day(self, local: datetime) -> str:
        """The day of a local moment: ``Mon 7 Dec`` / ``12月7日(月)``."""
        return dates.day(local, self.language)

    def time(self, local: datetime) -> str:
        """The clock time of a local moment: ``09:00`` / ``9:00``."""
        return dates.time(local, self.language)

    def day_time(self, local: datetime) -> str:
        """Day and clock time: ``Mon 7 Dec 09:00`` / ``12月7日(月) 9:00``."""
        return f"{self.day(local)} {self.time(local)}"

    def weekday_time(self, local: datetime) -> str:
        """A moment within the week: ``Mon 09:00`` / ``12月7日(月) 9:00`` (Japanese names the date)."""
        return dates.weekday_time(local, self.language)
