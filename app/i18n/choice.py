"""Which language a message is written in: the team's for channel posts, the reader's for private answers.

Slack's guidance: a channel post speaks the channel's language (here the team's ``language`` setting);
an ephemeral answer, a DM or the App Home speaks the reader's Slack locale (``users.info`` with
``include_locale``) when the bot speaks it, else the team's language, or, for a view that spans teams,
the teams file's top-level default.
"""

from __future__ import annotations

from app.i18n import Language


def locale_language(locale: str | None) -> Language | None:
    """The language of a Slack locale the bot speaks: ``ja-JP`` → ja, ``en-*`` → en; else None."""
    if not locale:
        return None
    tag = locale.strip().replace("_", "-").lower()
    if tag in {"ja-jp", "ja"}:
        return "ja"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def reader_language(locale: str | None, fallback: Language) -> Language:
    """The language of a private answer: the reader's locale when the bot speaks it, else ``fallback``.

    ``fallback`` is the team's language for an answer about one team, the top-level default for a view
    that spans teams.
    """
    return locale_language(locale) or fallback
