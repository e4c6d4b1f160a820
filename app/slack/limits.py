"""Slack's Block Kit limits in one place: the numbers, and pure helpers that fit content within them.

Renderers fit their content with these helpers (cut whole items, say how many were left out and where
to find them); whatever sends to Slack checks the result last with ``app.slack.limits_check``, so a
payload Slack would refuse never leaves the process silently.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any, Literal

# ---- Slack's numbers (api.slack.com/reference/block-kit) ---------------------------------------------

TEXT_CHARS = 3000  # a section's text, and each context element's text
FIELD_CHARS = 2000  # one of a section's fields
SECTION_FIELDS = 10
HEADER_CHARS = 150  # a header's plain_text
MESSAGE_BLOCKS = 50  # a message, an ephemeral message, a slash-command ack payload
VIEW_BLOCKS = 100  # a Home tab or a modal
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL_CHARS = 3000
ID_CHARS = 255  # block_id, action_id
MESSAGE_TEXT = 40_000  # a message's top-level `text`: Slack refuses longer ones (msg_too_long)
VIEW_BYTES = 250_000  # a whole view as JSON: Slack refuses a larger one (view_too_large)

Surface = Literal["message", "home", "modal"]
SURFACE_BLOCKS: dict[str, int] = {"message": MESSAGE_BLOCKS, "home": VIEW_BLOCKS, "modal": VIEW_BLOCKS}

ELLIPSIS = "…"
Block = dict[str, Any]

# A Slack control sequence (<@U123>, <#C1|name>, <https://x|label>) or an HTML escape (&amp;): a cut inside
# one would leave half a mention, a broken link or a stray "&am" in the message.
_TOKEN = re.compile(r"<[^<>\n]*>|&(?:amp|lt|gt|#\d{1,7}|#x[0-9A-Fa-f]{1,6});")
_WORD_BACKOFF = 40  # how far a cut may move back to end at a space rather than inside a word


# ---- cutting text ------------------------------------------------------------------------------------


def _joins_previous(char: str) -> bool:
    """True for characters that belong to the one before them (accents, ZWJ, variation selectors)."""
    return (
        bool(unicodedata.combining(char))
        or char in "\u200d\ufe0e\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"
    )


def safe_cut(text: str, limit: int) -> int:
    """The largest index ≤ ``limit`` that is not inside a mention, link, escape or combined character."""
    if limit >= len(text):
        return len(text)
    cut = max(limit, 0)
    for token in _TOKEN.finditer(text, 0, min(len(text), cut + 16)):
        if token.start() < cut < token.end():
            cut = token.start()
            break
    while 0 < cut < len(text) and _joins_previous(text[cut]):
        cut -= 1
    return cut


def truncate(text: str, limit: int, tail: str = ELLIPSIS) -> str:
    """``text`` when it fits in ``limit``, else cut at a safe place (a space if one is near) plus ``tail``."""
    if len(text) <= limit:
        return text
    cut = safe_cut(text, limit - len(tail))
    space = text.rfind(" ", max(cut - _WORD_BACKOFF, 0), cut + 1)
    if space > 0 and safe_cut(text, space) == space:
        cut = space
    return text[:cut].rstrip(" ,") + tail


def truncate_plain(text: str, limit: int = HEADER_CHARS, tail: str = ELLIPSIS) -> str:
    """Plain text (a header) cut on a character boundary: no accent or emoji modifier left dangling."""
    if len(text) <= limit:
        return text
    cut = limit - len(tail)
    while 0 < cut < len(text) and _joins_previous(text[cut]):
        cut -= 1
    return text[:cut] + tail


def more_pointer(hint: str = "") -> Callable[[int], str]:
    """A pointer maker: ``… and 12 more`` plus `` (hint)`` when a hint says where the rest is."""
    return lambda count: f"{ELLIPSIS} and {count} more" + (f" ({hint})" if hint else "")


def fit_names(
    names: Sequence[str],
    budget: int,
    *,
    prefix: str = "",
    sep: str = ", ",
    more: Callable[[int], str] | None = None,
    pointer_sep: str = " ",
    max_items: int | None = None,
) -> str:
    """``prefix`` and as many whole names as fit in ``budget`` characters, then a pointer to the rest.

    Names are never cut: a name that does not fit is left out and counted in the pointer, as is every
    name after ``max_items``. ``names`` are finished mrkdwn (escaped, or mentions); the result, pointer
    included, is at most ``budget`` long. With ``sep`` and ``pointer_sep`` a newline it fits whole lines.
    """
    pointer = more or more_pointer()
    wanted = len(names) if max_items is None else min(max_items, len(names))
    if wanted == len(names) and len(prefix) + len(sep.join(names)) <= budget:
        return prefix + sep.join(names)  # all of them: no room needs keeping for a pointer
    shown = ""
    for index, name in enumerate(names[:wanted]):
        candidate = f"{shown}{sep}{name}" if index else name
        left = len(names) - index - 1
        total = len(prefix) + len(candidate) + (len(pointer_sep + pointer(left)) if left else 0)
        if total > budget:
            left = len(names) - index
            break
        shown, left = candidate, len(names) - index - 1
    else:
        left = len(names) - wanted
    if not left:
        return truncate(prefix + shown, budget)
    rest = pointer(left)
    return truncate(f"{prefix}{shown}{pointer_sep}{rest}" if shown else f"{prefix}{rest}", budget)


# ---- fitting blocks ----------------------------------------------------------------------------------


def section(text: str) -> Block:
    """A mrkdwn section whose text is within Slack's limit (cut safely as a last resort)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, TEXT_CHARS)}}


def context(text: str) -> Block:
    """A one-element mrkdwn context whose text is within Slack's limit."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, TEXT_CHARS)}]}


def header(text: str) -> Block:
    """A header block, its plain text cut at Slack's 150 characters."""
    return {"type": "header", "text": {"type": "plain_text", "text": truncate_plain(text)}}


def _packed(lines: Sequence[str], limit: int) -> list[tuple[str, int]]:
    """(text, how many of ``lines`` it holds) for each packed text."""
    packed: list[tuple[str, int]] = []
    current, count = "", 0
    for raw in lines:
        line = truncate(raw, limit)
        if count and len(current) + 1 + len(line) > limit:
            packed.append((current, count))
            current, count = "", 0
        current, count = (f"{current}\n{line}" if count else line), count + 1
    if count:
        packed.append((current, count))
    return packed


def pack_lines(lines: Sequence[str], limit: int = TEXT_CHARS) -> list[str]:
    """Lines joined by newlines into as few texts of at most ``limit`` as fit (a too-long line is cut)."""
    return [text for text, _ in _packed(lines, limit)]


def wire_size(text: str) -> int:
    """The bytes ``text`` takes in the JSON sent to Slack, where every non-ASCII character is escaped."""
    # A view's 250 kB are counted on that JSON: a Japanese character takes 6 bytes there, an emoji 12.
    return len(json.dumps(text)) - 2


def fit_lines(
    lines: Sequence[str],
    *,
    max_chars: int,
    max_blocks: int,
    more: Callable[[list[str]], str],
    size: Callable[[str], int] = len,
) -> list[Block]:
    """Sections of whole lines, at most ``max_chars`` in all and ``max_blocks`` blocks, pointer included.

    ``size`` measures a section's text (characters by default; ``wire_size`` for a view's byte limit).
    When lines are left out, the last block is a context saying ``more(the lines left out)``.
    """
    packed = _packed(lines, TEXT_CHARS)
    blocks: list[Block] = []
    used = done = 0
    for index, (text, count) in enumerate(packed):
        last = index == len(packed) - 1
        room = max_blocks - len(blocks) - (0 if last else 1)  # keep one block for the pointer
        if room < 1 or used + size(text) > max_chars:
            break
        blocks.append(section(text))
        used, done = used + size(text), done + count
    if done < len(lines):
        blocks.append(context(more(list(lines[done:]))))
    return blocks


def cap_blocks(blocks: Sequence[Block], limit: int, note: str | Callable[[int], str]) -> list[Block]:
    """At most ``limit`` blocks; when there are more, the last one kept is a context pointing to the rest."""
    if len(blocks) <= limit:
        return list(blocks)
    kept = list(blocks[: limit - 1])
    said = note(len(blocks) - len(kept)) if callable(note) else note
    return [*kept, context(said)]


def cap_context(elements: Sequence[Block], note: Callable[[int], str] | None = None) -> list[Block]:
    """At most 10 context elements; the tenth becomes a mrkdwn pointer when there are more."""
    if len(elements) <= CONTEXT_ELEMENTS:
        return list(elements)
    kept = list(elements[: CONTEXT_ELEMENTS - 1])
    left = len(elements) - len(kept)
    said = (note or more_pointer())(left)
    return [*kept, {"type": "mrkdwn", "text": truncate(said, TEXT_CHARS)}]
