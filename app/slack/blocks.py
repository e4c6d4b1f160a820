"""Pure renderers: domain values in, Block Kit payloads out. No I/O here."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from app.i18n import EN, N_, Translator
from app.model.text import ago
from app.slack.limits import (
    MESSAGE_BLOCKS,
    TEXT_CHARS,
    cap_blocks,
    context,
    fit_names,
    pack_lines,
    section,
)

__all__ = ["MESSAGE_BLOCKS", "ago", "cap_blocks", "context", "section"]  # re-exported for the renderers

Blocks = list[dict[str, Any]]
SECTION_LIMIT = TEXT_CHARS
# Where a cut list of team names points to: the Home tab shows every team (and says so when even it must cut).
TEAMS_HINT = N_("my Home tab lists every team")


def escape(text: str) -> str:
    """Escape user or pager text for mrkdwn so it can never form a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def more_names(t: Translator = EN, hint: str = "") -> Callable[[int], str]:
    """The pointer after a cut list: ``… and 12 more`` (``…ほか12件``), plus `` (hint)`` when there is one."""

    def pointer(count: int) -> str:
        said = t.ngettext("… and {n} more", "… and {n} more", count)
        return t("{pointer} ({hint})", pointer=said, hint=t(hint)) if hint else said

    return pointer


def teams_line(team_names: Sequence[str], t: Translator = EN) -> str:
    """``Teams: a, b, … and N more (…)``: whole names only, within one text's limit."""
    names = [escape(name) for name in team_names]
    return fit_names(names, TEXT_CHARS, prefix=t("Teams: "), more=more_names(t, TEAMS_HINT))


def ephemeral(text: str, blocks: Blocks) -> dict[str, Any]:
    """An ephemeral slash-command answer with a plain-text fallback."""
    return {"response_type": "ephemeral", "text": text, "blocks": blocks}


# The commands stay as Slack users type them (a slash command cannot be localized); what they do is told
# in the reader's language.
HELP_LINES = (
    ("/oncall", N_("who is on call now (this channel's team, or every team)")),
    ("/oncall <team>", N_("who is on call now for that team")),
    ("/oncall next [team]", N_("who takes over next, and when")),
    ("/oncall week [team]", N_("the shifts of the next 7 days")),
    ("/oncall me", N_("your current and next shifts")),
    ("/oncall help", N_("this help")),
)


def help_message(
    team_names: list[str], not_understood: str | None = None, t: Translator = EN
) -> dict[str, Any]:
    """The /oncall usage, optionally saying which words were not understood."""
    usage = "\n".join(f"`{command}` " + t(what) for command, what in HELP_LINES)
    blocks: Blocks = []
    fallback = t("How to use /oncall")
    if not_understood is not None:
        shown = escape(not_understood[:80]) + ("…" if len(not_understood) > 80 else "")
        blocks.append(section(t("Sorry, I did not understand `{words}`.", words=shown)))
        fallback = t("Sorry, I did not understand that. How to use /oncall")
    blocks.append(section(t("*How to use /oncall*") + f"\n{usage}"))
    if team_names:
        blocks.append(context(teams_line(team_names, t)))
    # TRANSLATORS: the example after the colon is a mention; its words may be translated.
    blocks.append(context(t("Mention me in a channel to reach the person on call: `@oncall-bot db is down`")))
    return ephemeral(fallback, blocks)


_CONTROL = dict.fromkeys([*range(32), *range(127, 160)], " ")
# No word boundary: Slack may still read "@here0" as a mass mention, so every such prefix is broken.
_MASS_WORD = re.compile(r"@(?=channel|here|everyone)", re.IGNORECASE)


def plain(text: str, limit: int = 200) -> str:
    """Untrusted text made safe to echo: control characters gone, mass mentions broken, length capped.

    The result still needs ``escape``; this only removes what escaping alone leaves readable as
    ``@here``-style words, which Slack may turn into mentions when it parses plain text.
    """
    cleaned = _MASS_WORD.sub("@\u2060", " ".join(text.translate(_CONTROL).split()))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def fit_sections(lines: list[str], limit: int = SECTION_LIMIT) -> Blocks:
    """Pack mrkdwn lines into as few sections as fit Slack's length limit (a too-long line is cut safely)."""
    return [section(text) for text in pack_lines(lines, limit)]


def message_text(message: dict[str, Any]) -> str:
    """Flatten a rendered message's blocks into plain lines (for the CLI and the demo)."""
    lines: list[str] = []
    for block in message.get("blocks") or []:
        if block.get("text"):
            lines.append(block["text"]["text"])
        for element in block.get("elements") or []:
            text = element.get("text")
            lines += [text["text"] if isinstance(text, dict) else text] if text else []  # a button's label
    return "\n".join(lines) if lines else str(message.get("text", ""))
