"""What a mention asks for: a page, a tag, a thank-you, who is on call, or help. Pure, no I/O.

A team that pages from Slack must not page on every mention: "thanks!" or "who is on call?" raising an
alert gets the bot muted within a week. So a mention pages only when it says so: its first word (after
the optional ``team:`` prefix, which ``route_mention`` has already taken off) is ``page``, or it holds a
priority word anywhere: ``P1``…``P5``, ``urgent`` or ``緊急``. Words match whole ("the login page is blank"
and "MP3" do not page). Everything else that is not small talk tags the on-call people and offers a
Page button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

IntentKind = Literal["page", "tag", "courtesy", "who", "help"]

HELP_WORDS = frozenset({"help", "?", "usage"})
# A standalone P1..P5: not inside a word ("MP3", "P10", "SP1") and either case ("p1").
_PRIORITY = re.compile(r"(?<![\w])[Pp]([1-5])(?![\w])")
# "urgent" as a whole word in any case; 緊急 needs no boundary (Japanese has no spaces between words).
_URGENT = re.compile(r"(?<![\w])urgent(?![\w])|緊急", re.IGNORECASE)
# "page", "page:", "page -", "Page!" as the first word; "pager", "pages" and "paged" are other words.
_PAGE_FIRST = re.compile(r"^page(?![\w])[\s:,.!\-\u2013\u2014]*", re.IGNORECASE)
# Who is on call, asked in the usual ways, optionally for now / today / this team.
_WHO = re.compile(
    r"^(?:who(?:'s|\u2019s|s| is| are)?\s*(?:(?:on[\s-]?call|oncall)\b.*)?|on[\s-]?call(?:\s+now)?)\s*\?*$",
    re.IGNORECASE,
)
# Small talk that needs no human: every word of the message is one of these (emoji codes included).
_COURTESY_TEXT = """thanks thank thankyou thx ty tysm you so much very a lot lots many again ok okay k kk cool
great cheers nice perfect got it appreciated appreciate awesome np sure noted ack 👍 🙏 ありがとう
ありがとうございます ありがとうございました どうも 了解 了解です"""
_COURTESY_WORDS = frozenset(_COURTESY_TEXT.split())
_EMOJI_CODE = re.compile(r":[\w+\-']+:")
_NOT_WORD = re.compile(r"[^\w\s'👍🙏]+")


@dataclass(frozen=True, slots=True)
class Intent:
    """What the mention asks for; ``body`` is what to tell the pager, ``priority`` an explicit P-word."""

    kind: IntentKind
    body: str = ""
    priority: str | None = None


def parse_priority(text: str) -> str | None:
    """The highest standalone ``P1``…``P5`` in ``text`` (P1 beats P3), or None when there is none."""
    found = [int(digit) for digit in _PRIORITY.findall(text)]
    return f"P{min(found)}" if found else None


def asks_to_page(text: str) -> bool:
    """True when ``text`` starts with the word ``page`` or holds a priority word anywhere."""
    return bool(_PAGE_FIRST.match(text.strip()) or parse_priority(text) or _URGENT.search(text))


def is_courtesy(text: str) -> bool:
    """True for a thank-you or an acknowledgement and nothing else ("thanks!", "ok 👍", "ty")."""
    words = _NOT_WORD.sub(" ", _EMOJI_CODE.sub(" ", text.lower())).split()
    emoji_only = not words and bool(_EMOJI_CODE.search(text))
    return emoji_only or (bool(words) and all(word in _COURTESY_WORDS for word in words))


def is_who(text: str) -> bool:
    """True for "who is on call?" and its usual variants."""
    return bool(_WHO.match(" ".join(text.split())))


def read_intent(body: str, *, team_pages: bool) -> Intent:
    """Classify a mention's body (bot mention and team prefix taken off) for a paging or a tagging team."""
    text = body.strip()
    if not text or text.lower() in HELP_WORDS:
        return Intent("help")
    if asks_to_page(text):
        stripped = _PAGE_FIRST.sub("", text, count=1).strip() or text
        if team_pages:
            return Intent("page", stripped, parse_priority(text))
        return Intent("tag", stripped, parse_priority(text))
    if is_courtesy(text):
        return Intent("courtesy", text)
    if is_who(text):
        return Intent("who", text)
    return Intent("tag", text, None)
