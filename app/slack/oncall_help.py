"""The /oncall answers that are not a roster: the usage, a near miss ("did you mean …"), and the sentences
said when the cache cannot be read or an answer would be too big for Slack."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.i18n import EN, Translator
from app.slack.blocks import (
    MESSAGE_BLOCKS,
    cap_blocks,
    context,
    ephemeral,
    escape,
    fit_sections,
    help_message,
    plain,
    section,
    teams_line,
)
from app.slack.oncall_blocks import MORE
from app.slack.words import NAME_LIMIT


def unknown_team(
    word: str, suggestions: Sequence[str], team_names: Sequence[str], t: Translator = EN
) -> dict[str, Any]:
    """A near miss: "did you mean …" with the teams and subcommands that are close."""
    shown = escape(plain(word, NAME_LIMIT))
    if not suggestions:
        return usage(team_names, word, t)
    options = t(" or ").join(f"`{escape(s)}`" for s in suggestions)
    lines = [t("I do not know `{word}`. Did you mean {options}?", word=shown, options=options)]
    blocks = [
        *fit_sections(lines),
        context(teams_line(team_names, t) if team_names else t("No teams are configured.")),
    ]
    said = t(" or ").join(escape(s) for s in suggestions)
    fallback = t("I do not know {word}. Did you mean {options}?", word=shown, options=said)
    return ephemeral(fallback, cap_blocks(blocks, MESSAGE_BLOCKS, t(MORE)))


def cache_unreadable(t: Translator = EN) -> dict[str, Any]:
    """The answer when the cache cannot be read or an answer not built from it (the error is logged)."""
    text = t("Sorry, I cannot read my on-call cache right now. Please try again in a minute.")
    return ephemeral(text, [section(text)])


def too_big(t: Translator = EN) -> dict[str, Any]:
    """The answer when a rendered answer would break Slack's limits (a bug, and logged): never silence."""
    text = t("Sorry, my answer came out too big for Slack. Ask for one team: `/oncall <team>`.")
    return ephemeral(text, [section(text)])


def usage(team_names: Sequence[str], not_understood: str | None = None, t: Translator = EN) -> dict[str, Any]:
    """The /oncall usage, optionally saying (safely) which words were not understood."""
    said = None if not_understood is None else plain(not_understood, 120)
    payload = help_message(list(team_names), said, t)
    payload["blocks"] = cap_blocks(payload["blocks"], MESSAGE_BLOCKS, t(MORE))
    return payload
